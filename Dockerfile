# hookproof as an image: one static binary on an empty base, so building it pulls nothing.
#
# The build context is a directory holding only the binary and an empty data/ directory
# (`make image` and suites/target.BuildImage lay it out):
#
#	CGO_ENABLED=0 go build -trimpath -o ctx/hookproof ./cmd/hookproof && mkdir -p ctx/data
#	docker build -f Dockerfile -t hookproof:dev ctx
#
# Run the reference receiver on the host network with its SQLite file on a volume:
#
#	docker run --network host -v hookproof-data:/data hookproof:dev \
#	    receiver --listen 127.0.0.1:8080 --secret "$SECRET" --db /data/receiver.db
FROM scratch
COPY hookproof /hookproof
# /data belongs to the unprivileged user, so a fresh named volume mounted there is writable.
COPY --chown=65532:65532 data /data
# SQLite (pure Go) writes its temporary files here; scratch has no /tmp.
ENV TMPDIR=/data
USER 65532:65532
VOLUME ["/data"]
ENTRYPOINT ["/hookproof"]
