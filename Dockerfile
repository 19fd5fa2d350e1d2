# The Holdfast worker and CLI. Pure Go (the SQLite driver included), so the
# result is a static binary on a distroless base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/holdfast-worker ./worker \
 && CGO_ENABLED=0 go build -trimpath -o /out/holdfast ./starter

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/holdfast-worker /out/holdfast /usr/local/bin/
USER nonroot
ENTRYPOINT ["/usr/local/bin/holdfast-worker"]
