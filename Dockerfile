# The PortalBots image: every `portalbots` command (db upgrade, sandbox, intake, worker, beat).
# Debian bookworm, as scripts/setup expects: Debian's Chromium for the bots, poppler, DejaVu fonts.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        chromium poppler-utils fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 portalbots \
    && useradd --system --uid 10001 --gid portalbots --create-home --home-dir /home/portalbots portalbots \
    && mkdir -p /var/lib/portalbots \
    && chown portalbots:portalbots /var/lib/portalbots

# the build hook (hatch_build.py) compiles the translations into the wheel
WORKDIR /build
COPY pyproject.toml hatch_build.py README.md ./
COPY bots ./bots
COPY console ./console
COPY sandbox ./sandbox
COPY i18n ./i18n
RUN pip install . && cd / && rm -rf /build

ENV PORTALBOTS_DATA_DIR=/var/lib/portalbots \
    PORTALBOTS_CHROMIUM_PATH=/usr/bin/chromium

USER portalbots
WORKDIR /var/lib/portalbots
VOLUME ["/var/lib/portalbots"]
EXPOSE 8700 8710 8725

CMD ["portalbots", "--help"]
