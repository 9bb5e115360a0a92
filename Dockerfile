# servegate for a cluster: the suite as a test binary (the shards of deploy/kubernetes),
# servegate-merge and servegate-report. FRAMEWORK_TAGS choose the adapter the shards
# attach with (-url, SERVEGATE_URL): vllm, sglang, ollama or openai.
#
#   docker build -t servegate:latest --build-arg FRAMEWORK_TAGS=vllm .
FROM golang:1.26-bookworm AS build
ARG FRAMEWORK_TAGS=vllm
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# go-nvml's header marks old NVML calls deprecated; keep those warnings out of the log.
ENV CGO_CFLAGS="-O2 -g -Wno-deprecated-declarations"
RUN go test -c -tags="${FRAMEWORK_TAGS}" -o /out/servegate.test ./benchmarks \
 && go build -o /out/servegate-merge ./cmd/servegate-merge \
 && go build -o /out/servegate-report ./cmd/servegate-report

FROM debian:bookworm-slim
COPY --from=build /out/servegate.test /out/servegate-merge /out/servegate-report /usr/local/bin/
# The suite resolves relative paths from the repository root; in the image every path
# it is given is absolute, and it runs from /.
WORKDIR /
ENTRYPOINT ["/usr/local/bin/servegate.test"]
