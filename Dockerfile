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
# SIGTERM stops it cleanly within 30 s
STOPSIGNAL SIGTERM
CMD ["monitor", "run"]
