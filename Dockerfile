# Backbone's image, for builders that have a container engine. `make image` builds the
# same image without one (hack/image: scratch, the two binaries, CA certificates, uid 65532):
# backbone-manager runs the operator, backbone-job the Jobs' steps.
# The build flags are those of `make build`; hack/image's tests check that they agree.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/backbone-dev/backbone/internal/version.Version=${VERSION} -X github.com/backbone-dev/backbone/internal/version.Commit=${COMMIT}" \
    -o /out/ ./cmd/backbone-manager ./cmd/backbone-job

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/backbone-manager /backbone-manager
COPY --from=build /out/backbone-job /backbone-job
USER 65532:65532
ENTRYPOINT ["/backbone-manager"]
