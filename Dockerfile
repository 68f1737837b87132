# syntax=docker/dockerfile:1
# Valorize: one image for every service; the role is picked by the command.
#   docker run IMAGE serve query --host 0.0.0.0 --port 8080
#   docker run IMAGE migrate

# ---- build: wheels for the project and all of its dependencies -------------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Only what the distribution needs (keeps .venv/.git/tests out of the context copy).
COPY pyproject.toml README* ./
COPY shared ./shared
COPY command_service ./command_service
COPY query_service ./query_service
COPY projection_worker ./projection_worker
COPY ws_gateway ./ws_gateway
# The composition root and CLI: the image's ENTRYPOINT (tests/deploy checks every package).
COPY valorize ./valorize
RUN pip wheel . -w /wheels

# ---- runtime ---------------------------------------------------------------
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Bind-mount the wheels (BuildKit) so they never land in an image layer.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels valorize \
    && useradd --system --uid 10001 --create-home --shell /usr/sbin/nologin valorize

USER 10001
WORKDIR /home/valorize

EXPOSE 8080
ENTRYPOINT ["valorize"]
CMD ["serve", "command", "--host", "0.0.0.0", "--port", "8080"]
