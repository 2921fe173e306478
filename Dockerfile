# news monitor: `monitor run` as a daemon, the SQLite file on a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MONITOR_CONFIG=/app/config.yaml \
    MONITOR_DATABASE_URL=sqlite:////data/monitor.db

WORKDIR /app
# the same install step the tests check: a plain (non-editable) pip install of the project
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY migrations ./migrations
COPY seeds ./seeds
# pycld2 (language detection) has wheels for x86_64 only; elsewhere pip compiles it
RUN if [ "$(uname -m)" != "x86_64" ]; then \
      apt-get update && apt-get install -y --no-install-recommends g++ \
      && rm -rf /var/lib/apt/lists/*; fi
RUN pip install . \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin monitor \
 && mkdir -p /data && chown monitor /data
COPY config.yaml ./config.yaml

USER monitor
VOLUME ["/data"]
# the web view and /healthz, /readyz, /metrics (web.listen; 0.0.0.0:8080 with credentials
# to publish it beyond the container)
EXPOSE 8080
# healthy while /readyz says ready: the database answers and the scheduler ticks; the
# reason it is not ready goes to `docker inspect` (no curl in the slim image: urllib)
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.error, urllib.request\ntry:\n    urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=8)\nexcept urllib.error.HTTPError as e:\n    sys.exit(e.read().decode(errors='replace').strip() or str(e))\nexcept OSError as e:\n    sys.exit(str(e))"]
# SIGTERM stops it cleanly within 30 s
STOPSIGNAL SIGTERM
CMD ["monitor", "run"]
