# rivalwatch service image. The entrypoint is the same command `make run` ends with.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    RIVALWATCH_RULES_DIR=/app/rules \
    RIVALWATCH_MIGRATIONS_DIR=/app/migrations \
    RIVALWATCH_DATABASE_URL=sqlite:////var/lib/rivalwatch/rivalwatch.db \
    RIVALWATCH_API_HOST=0.0.0.0

RUN useradd --system --uid 10001 --home-dir /app rivalwatch \
    && mkdir -p /var/lib/rivalwatch && chown rivalwatch /var/lib/rivalwatch

WORKDIR /app
# Dependencies first, from the lock (exact versions, hashes checked): a layer that changes only
# when the lock does, and the same build next month.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
# The project itself, installed as a wheel (not editable) and compiled by pip at install: with
# PYTHONDONTWRITEBYTECODE and a read-only /app, nothing would be cached at run time.
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip install --no-deps . && rm -rf service build rivalwatch.egg-info
COPY migrations ./migrations
COPY rules ./rules
COPY docker-entrypoint.sh ./
RUN chmod +x docker-entrypoint.sh

USER rivalwatch
VOLUME ["/var/lib/rivalwatch"]
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8787/healthz', timeout=4).status in (200,) else 1)"
ENTRYPOINT ["./docker-entrypoint.sh"]
CMD ["run"]
