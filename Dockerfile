# The workshop image: JupyterLab and the course tool, for `docker compose up` (see docker-compose.yml).
# The repository is mounted at /course at run time, so learners' edits stay on the host.
FROM python:3.12-slim

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN apt-get update && apt-get install -y --no-install-recommends git make && rm -rf /var/lib/apt/lists/*
WORKDIR /course
COPY requirements.lock pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir -r requirements.lock && pip install --no-cache-dir --no-deps -e .
RUN useradd --create-home learner
USER learner
EXPOSE 8888
CMD ["course", "lab", "--port", "8888"]
