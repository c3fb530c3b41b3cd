# ferry in a container: a static binary on distroless, run as a non-root user.
#
#   docker build -t ferry .
#   docker run -d --name ferry -p 21:21 -p 30000-30009:30000-30009 \
#     -v /srv/ftp:/srv/ftp:ro ferry \
#     serve --passive-ports 30000-30009 --public-addr 203.0.113.7 /srv/ftp
#
# Without arguments it serves /srv/ftp read-only to anonymous users in
# quick mode. Passive data connections use ports 30000-30009: publish the
# same range, and give --public-addr the address clients reach the host on
# (PASV replies carry it). docs/operations.md has the details, the
# configuration-file variant, and what checks this file.

# build compiles ferry into a static binary.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# VERSION is what `ferry version` prints: docker build --build-arg VERSION=...
ARG VERSION=dev
# CGO_ENABLED=0: a static binary that needs no C library at run time.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/ferry ./cmd/ferry \
 && mkdir -p /out/srv/ftp

# distroless/static: CA certificates (S3 over HTTPS) and time zones, no
# shell, no package manager; its "nonroot" user is 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ferry /usr/local/bin/ferry
COPY --from=build --chown=65532:65532 /out/srv/ftp /srv/ftp
USER 65532:65532
# 21: the control connection (Docker lets a non-root process bind it: it
# sets net.ipv4.ip_unprivileged_port_start=0 in the container). 30000-30009:
# passive data connections, as in the default command below.
EXPOSE 21 30000-30009
VOLUME ["/srv/ftp"]
ENTRYPOINT ["/usr/local/bin/ferry"]
CMD ["serve", "--listen", ":21", "--passive-ports", "30000-30009", "/srv/ftp"]
