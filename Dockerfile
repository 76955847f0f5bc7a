# vault in a container: the compiled binary on Debian bookworm slim (the Bun
# runtime links glibc, so `FROM scratch` would not run it).
#
#   make compile        # or: bun scripts/compile.ts --target linux-arm64 --outfile dist/vault
#   docker build -t vault .
#   docker run -d -p 443:8750 -v vault-data:/data \
#     -v /etc/vault/tls:/run/vault-tls:ro \
#     -e VAULT_TLS_CERT=/run/vault-tls/cert.pem -e VAULT_TLS_KEY=/run/vault-tls/key.pem \
#     -e VAULT_PUBLIC_URL=https://vault.example.com --ulimit core=0 vault
#
# All state is in /data (both databases and the keys): back it up, never
# bake it into an image. The server refuses plain HTTP on 0.0.0.0: give it a
# certificate (above), or set VAULT_BEHIND_PROXY=true behind a TLS proxy.
# A Dockerfile cannot set resource limits: `--ulimit core=0` (or compose's
# `ulimits: core: 0`) keeps core files off at the container level too;
# vault serve sets the limit to 0 and makes itself not dumpable either way.
FROM debian:bookworm-slim

# A dedicated user with a fixed uid, so that mounted files can be owned by it.
RUN groupadd --system --gid 10001 vault \
 && useradd --system --uid 10001 --gid vault --home-dir /data --no-create-home --shell /usr/sbin/nologin vault \
 && mkdir -p /data /var/lib/vault/tmp \
 && chown vault:vault /data /var/lib/vault/tmp \
 && chmod 700 /data /var/lib/vault/tmp

COPY dist/vault /usr/local/bin/vault

# vault serve unpacks libsql's native addon into /data/lib; every other vault
# command (and vault serve, when /data does not allow exec) unpacks it into
# $TMPDIR: it must be writable and allow exec (a tmpfs there needs `exec`).
ENV TMPDIR=/var/lib/vault/tmp \
    VAULT_DATA_DIR=/data \
    VAULT_LISTEN=0.0.0.0:8750 \
    VAULT_LOG_FORMAT=json \
    VAULT_LOG_LEVEL=info

USER vault
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8750

# `vault healthcheck` asks this container's own listener for /readyz (the
# scheme and port come from the same VAULT_* settings as the server).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["vault", "healthcheck"]

# docker stop sends SIGTERM: in-flight requests finish (VAULT_SHUTDOWN_TIMEOUT,
# default 10s; give `docker stop -t` more than that). SIGHUP reloads the certificate.
STOPSIGNAL SIGTERM
ENTRYPOINT ["vault"]
CMD ["serve"]
