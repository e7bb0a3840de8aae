# Production image of the bridge: slim Python, non-root, SQLite data on a volume.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bridge ./bridge
COPY provisioning ./provisioning
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BRIDGE_DATABASE_URL=sqlite:////data/bridge.db \
    BRIDGE_DEPARTMENTS_FILE=/app/config/departments.toml
COPY --from=build /install /usr/local
RUN groupadd --system bridge && useradd --system --gid bridge --home-dir /app bridge \
    && mkdir -p /data /app/config && chown bridge:bridge /data
WORKDIR /app
COPY config ./config
USER bridge
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"]
# Exec form: python is PID 1 and receives SIGTERM directly (graceful shutdown < 8 s).
ENTRYPOINT ["python", "-m", "bridge"]
CMD ["serve"]
