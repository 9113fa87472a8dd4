# The app container of docker-compose.yml: the emulator (gateway, functions, consumers)
# against the Postgres, Redis and LocalStack containers named by its environment.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY local ./local
COPY infra ./infra
COPY ops ./ops
# Editable, as `make up` installs it: the emulator finds template.yaml beside its package.
RUN pip install --no-cache-dir -e .
COPY template.yaml ./
COPY layers ./layers
COPY functions ./functions
# Every requirements.txt built into the image (.local/build/), as `sam build` would: no pip at start.
RUN python -m local build

ENV LOCAL_BIND_HOST=0.0.0.0 \
    LOCAL_STATE_DIR=/data
EXPOSE 3000
STOPSIGNAL SIGTERM
CMD ["python", "-m", "local", "up"]
