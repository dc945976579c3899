"""Verdicts as text (rich), JSON (Exercism test-runner interface v3, with a `course` extension) and JUnit XML."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from rich.console import Console
from rich.text import Text

from course.grader import Verdict

_MARK = {
    "pass": ("✓", "green"),
    "fail": ("✗", "red"),
    "error": ("!", "yellow"),
    "not attempted": ("·", "cyan"),
}


def next_step(verdict: Verdict) -> str:
    ex = verdict.exercise
    if verdict.status == "pass":
        return "course next"
    if verdict.status == "not attempted":
        return f"open {ex.relative(ex.notebook)}, then edit {ex.relative(verdict.submission)}"
    return f"course hint {ex.id}   (or reread {ex.relative(ex.notebook)})"


def render_text(verdict: Verdict, console: Console, *, verbose: bool = False) -> None:
    """One line per check, then the message and what to do next."""
    mark, colour = _MARK[verdict.status]
    ex = verdict.exercise
    console.print(
        Text.assemble(
            (f"{mark} {ex.id}", f"bold {colour}"),
            f"  {verdict.status}",
            (
                f"  ({verdict.passed}/{len(verdict.checks)} checks, {verdict.duration:.2f} s)"
                if verdict.checks
                else ""
            ),
        )
    )
    for check in verdict.checks:
        cmark, ccolour = _MARK["not attempted" if check.not_implemented else check.status]
        console.print(Text.assemble(f"  {cmark} ", (check.sentence, ccolour)))
        if check.status != "pass" and check.message and not check.not_implemented:
            console.print(Text(_indent(check.message, 6)))
        if check.output and (verbose or check.status != "pass"):
            console.print(Text(_indent("output:\n" + check.output.rstrip(), 6), style="dim"))
    if verdict.message:
        console.print(Text(verdict.message, style=colour if verdict.status != "pass" else "green"))
    if verdict.output.strip() and (verbose or verdict.status == "error"):
        console.print(Text(_indent("output of your code:\n" + verdict.output.rstrip(), 2), style="dim"))
    console.print(Text(f"Next: {next_step(verdict)}", style="bold"))


def _indent(text: str, n: int) -> str:
    return "\n".join(" " * n + line for line in text.splitlines())


def to_json(verdict: Verdict) -> dict:
    """The Exercism v3 shape. `status` stays within v3's pass/fail/error; `course.status` adds 'not attempted'."""
    return {
        "version": 3,
        "status": "fail" if verdict.status == "not attempted" else verdict.status,
        "message": verdict.message if verdict.status != "pass" else None,
        "tests": [
            {
                "name": check.sentence,
                "status": check.status,
                "message": check.message or None,
                "output": check.output or None,
            }
            for check in verdict.checks
        ],
        "course": {
            "id": verdict.exercise.id,
            "status": verdict.status,
            "submission": str(verdict.submission),
            "points": verdict.exercise.points,
            "score": verdict.score,
            "duration_s": round(verdict.duration, 3),
            "checks": [check.name for check in verdict.checks],
            "output": verdict.output or None,
        },
    }


def render_json(verdicts: list[Verdict]) -> str:
    """One verdict as its object; several (`--all`) as `{"version": 3, "results": [...]}` with totals."""
    if len(verdicts) == 1:
        return json.dumps(to_json(verdicts[0]), indent=2)
    return json.dumps(
        {
            "version": 3,
            "status": _overall(verdicts),
            "score": sum(v.score for v in verdicts),
            "points": sum(v.exercise.points for v in verdicts),
            "results": [to_json(v) for v in verdicts],
        },
        indent=2,
    )


def _overall(verdicts: list[Verdict]) -> str:
    statuses = {v.status for v in verdicts}
    return "error" if "error" in statuses else "pass" if statuses == {"pass"} else "fail"


def render_junit(verdicts: list[Verdict]) -> str:
    """A testsuite per exercise, a testcase per check: what CI systems show as a test report."""
    suites = ET.Element("testsuites", name="course")
    for verdict in verdicts:
        checks = verdict.checks
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=verdict.exercise.id,
            tests=str(max(1, len(checks))),
            failures=str(sum(c.status == "fail" for c in checks)),
            errors=str(sum(c.status == "error" for c in checks) + (not checks)),
            time=f"{verdict.duration:.3f}",
        )
        ET.SubElement(ET.SubElement(suite, "properties"), "property", name="status", value=verdict.status)
        if not checks:  # the file did not even load: one testcase carries the error
            case = ET.SubElement(suite, "testcase", classname=verdict.exercise.id, name="loads")
            ET.SubElement(
                case, "error", message=verdict.message.splitlines()[0] if verdict.message else "error"
            ).text = verdict.message
        for check in checks:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=verdict.exercise.id,
                name=check.name,
                time=f"{check.duration:.3f}",
            )
            if check.status in ("fail", "error"):
                tag = "failure" if check.status == "fail" else "error"
                first = check.message.splitlines()[0] if check.message else check.status
                ET.SubElement(case, tag, message=first).text = check.message
            if check.output:
                ET.SubElement(case, "system-out").text = check.output
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode")


def render_html(verdict: Verdict) -> str:
    """For `%check` in a notebook. Deterministic (no timings), so nbval can compare stored outputs."""
    from html import escape

    colours = {"pass": "#1a7f37", "fail": "#cf222e", "error": "#9a6700", "not attempted": "#0969da"}
    mark, _ = _MARK[verdict.status]
    rows = []
    for check in verdict.checks:
        cmark, _ = _MARK["not attempted" if check.not_implemented else check.status]
        detail = (
            ""
            if check.status == "pass" or check.not_implemented
            else (f"<pre style='margin:2px 0 6px 1.5em;white-space:pre-wrap'>{escape(check.message)}</pre>")
        )
        rows.append(f"<div>{cmark} {escape(check.sentence)}</div>{detail}")
    return (
        f"<div style='border-left:4px solid {colours[verdict.status]};padding:4px 10px'>"
        f"<b>{mark} {escape(verdict.exercise.id)}: {escape(verdict.status)}</b> "
        f"({verdict.passed}/{len(verdict.checks)} checks)<br>{''.join(rows)}"
        f"<div>{escape(verdict.message)}</div><div><b>Next:</b> <code>{escape(next_step(verdict))}</code></div></div>"
    )


def render_plain(verdict: Verdict) -> str:
    """The text/plain twin of `render_html`: deterministic, one line per check."""
    mark, _ = _MARK[verdict.status]
    lines = [
        f"{mark} {verdict.exercise.id}: {verdict.status} ({verdict.passed}/{len(verdict.checks)} checks)"
    ]
    for check in verdict.checks:
        cmark, _ = _MARK["not attempted" if check.not_implemented else check.status]
        lines.append(f"  {cmark} {check.sentence}")
    lines.append(verdict.message)
    return "\n".join(lines)
