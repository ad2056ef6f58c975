# rivalwatch service image. The entrypoint is the same command `make run` ends with.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    RIVALWATCH_RULES_DIR=/app/rules \
    RIVALWATCH_DATABASE_URL=sqlite:////var/lib/rivalwatch/rivalwatch.db \
    RIVALWATCH_API_HOST=0.0.0.0

RUN useradd --system --uid 10001 --home-dir /app rivalwatch \
    && mkdir -p /var/lib/rivalwatch && chown rivalwatch /var/lib/rivalwatch

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY service ./service
COPY migrations ./migrations
COPY rules ./rules
COPY docker-entrypoint.sh ./
# Compiled once here: with PYTHONDONTWRITEBYTECODE (and a read-only /app) every command would
# otherwise compile every module from source at each start.
RUN pip install -e . && python -m compileall -q service migrations && chmod +x docker-entrypoint.sh

USER rivalwatch
VOLUME ["/var/lib/rivalwatch"]
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8787/healthz', timeout=4).status in (200,) else 1)"
ENTRYPOINT ["./docker-entrypoint.sh"]
CMD ["run"]
