import asyncio, os, sys, time
async def test_probe(db):
    t0 = time.perf_counter()
    env = {**os.environ, "DATABASE_URL": db.sqlalchemy_url, "CHECK_DSN": db.dsn}
    p = await asyncio.create_subprocess_exec(sys.executable, "/work/main/checkers/02_fastapi/testing/run_suites.py",
        "/work/main/solutions/02_fastapi/testing.py", "/tmp/probe_wd", "-", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(p.communicate(), 20)
    except TimeoutError:
        p.kill(); out = await p.stdout.read()
    raise AssertionError(out.decode()[-3000:] + f" total {time.perf_counter()-t0:.2f}")
