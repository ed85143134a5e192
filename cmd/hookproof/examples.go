package main

// examples are the Examples section of each command's -h, keyed by the name its flag set is
// made with (newFlagSet). Every command has one (TestEveryCommandHasExamples).
var examples = map[string]string{
	"conform receiver": `  # your endpoint, reporting its effects to hookproof's sink (idempotency, ordering observable)
  hookproof conform receiver --url http://127.0.0.1:8080/webhooks --secret "$SECRET" --sink 127.0.0.1:9300 \
      --out conform.json --junit junit.xml --html report.html
  # through chaos, only the MUST cases, stripe's scheme
  hookproof conform receiver --url http://127.0.0.1:8080/hook --scheme stripe --secret "$SECRET" \
      --sink 127.0.0.1:9300 --chaos 'drop=0.1,duplicate=0.2' --level MUST
  # an image hookproof starts and removes, or the reference receiver in process
  hookproof conform receiver --image my-endpoint:dev --port 8080 --path /webhooks --secret "$SECRET" --sink 127.0.0.1:9300
  hookproof conform receiver --builtin reference
  # what would run
  hookproof conform receiver --list --family idempotency`,
	"conform sender": `  # hookproof plays the receiver; the trigger makes your sender emit one event to {url}
  hookproof conform sender --secret "$SECRET" --trigger 'curl -s -X POST localhost:3000/test-event -d url={url}'
  # a sender with one fixed webhook URL: give the scripted receiver a fixed port
  hookproof conform sender --listen 127.0.0.1:9400 --secret "$SECRET" --trigger './emit-event.sh' --skip-long`,
	"load": `  # 200 signed deliveries/s for 30 s through chaos, effects checked at the sink
  hookproof load --url http://127.0.0.1:8080/webhooks --secret "$SECRET" --sink 127.0.0.1:9300 \
      --rate 200/s --duration 30s --chaos 'drop=0.05,lost-ack=0.05,duplicate=0.1' --out load.json --html load.html
  # a tighter latency budget; tolerate 10 undelivered events on purpose
  hookproof load --url http://127.0.0.1:8080/webhooks --secret "$SECRET" --sink 127.0.0.1:9300 \
      --threshold 'ack_p99<1s' --threshold 'unacked<=10'
  # shard 1 of 3 of one run (same --seed on every shard), merged later by hookproof report
  hookproof load --url https://webhooks.staging.example:8443/webhooks --secret "$SECRET" --sink 0.0.0.0:9300 --seed 42 --shard 1/3 --out shard1.json
  # the reference receiver in process
  hookproof load --builtin reference --rate 100/s --duration 10s
  # Prometheus metrics of the run (published, acked, in flight, ack latency) while it goes
  hookproof load --url http://127.0.0.1:8080/webhooks --secret "$SECRET" --metrics 127.0.0.1:9102
  # shard 2 of 3 against a shared sink (hookproof sink): the endpoint reports to http://sink:9300/runs/nightly-42/effects
  hookproof load --url http://endpoint:8080/webhooks --secret "$SECRET" --sink-url http://sink:9300 --run-id nightly-42 --seed 42 --shard 2/3
  # in a Kubernetes Indexed Job of 3 completions: pod k runs shard k+1/3
  hookproof load --url http://endpoint:8080/webhooks --secret "$SECRET" --sink-url http://sink:9300 --run-id nightly-42 --seed 42 --shard auto/3
  # an HTTPS endpoint behind mutual TLS, its certificate signed by your own CA
  hookproof load --url https://127.0.0.1:8443/webhooks --secret "$SECRET" --sink 127.0.0.1:9300 --ca ca.pem --cert client.pem --key client.key`,
	"sink": `  # the shared sink of a sharded run; the endpoint reports to http://127.0.0.1:9300/runs/RUN_ID/effects
  hookproof sink --listen 127.0.0.1:9300 --db hookproof-sink.db
  # shared by several sink services, and /effects (an endpoint whose sink URL cannot change) going to run nightly-42
  hookproof sink --listen 0.0.0.0:9300 --db postgres://hookproof@127.0.0.1/sink --run nightly-42`,
	"report": `  hookproof report conform.json load.json -o report.html --junit junit.xml --summary-md summary.md
  hookproof report shard1.json shard2.json shard3.json -o load.html   # shards of one run are merged
  hookproof report --from http://sink:9300 --run nightly-42 -o load.html   # the shards deposited at hookproof sink`,
	"chaos": `  # a flaky network in front of your endpoint, on a fixed seed
  hookproof chaos --listen 127.0.0.1:8090 --upstream http://127.0.0.1:8080 --seed 42 --drop 0.05 --duplicate 0.1 --delay 100ms-2s
  # a scenario file, changed while traffic flows through the admin API
  hookproof chaos --upstream http://127.0.0.1:8080 --scenario flaky-network.yaml --admin 127.0.0.1:8091
  # Prometheus metrics (requests, faults by type) on a port of their own
  hookproof chaos --upstream http://127.0.0.1:8080 --drop 0.05 --metrics 127.0.0.1:9103
  # HTTPS on both sides: serve TLS, verify the upstream with your CA
  hookproof chaos --upstream https://127.0.0.1:8443 --ca ca.pem --tls-cert server.pem --tls-key server.key --drop 0.05`,
	"receiver": `  hookproof receiver --listen 127.0.0.1:8080 --secret "$SECRET"
  hookproof receiver --listen 127.0.0.1:8080 --secret "$SECRET" --db postgres://hookproof@127.0.0.1/hooks --sink http://127.0.0.1:9300/effects
  # Prometheus metrics on a port of their own (never a path of the webhook listener)
  hookproof receiver --listen 127.0.0.1:8080 --secret "$SECRET" --metrics 127.0.0.1:9100
  # HTTPS, client certificates required (mutual TLS)
  hookproof receiver --listen 127.0.0.1:8443 --secret "$SECRET" --tls-cert server.pem --tls-key server.key --client-ca ca.pem`,
	"sender": `  hookproof sender --listen 127.0.0.1:8081 --db hookproof-sender.db
  hookproof sender --listen 127.0.0.1:8081 --db postgres://hookproof@127.0.0.1/hooks --allow-cidr 10.20.0.0/16   # a replica
  hookproof sender --listen 127.0.0.1:8081 --db /tmp/s.db --allow-private   # receivers on this machine (tests, demos)
  hookproof sender --listen 127.0.0.1:8081 --db hookproof-sender.db --metrics 127.0.0.1:9101
  # then register an endpoint and send through its API, or with: hookproof sender send --api http://127.0.0.1:8081 ...`,
	"sender send": `  hookproof sender send --api http://127.0.0.1:8081 --url http://127.0.0.1:8080/webhooks --secret "$SECRET" \
      --type order.updated --data '{"object_id":"ord_1","seq":1}'`,
	"sign": `  printf '{"id":"evt_1","type":"ping"}' | hookproof sign --secret "$SECRET" --id evt_1 > headers.txt
  curl -s http://127.0.0.1:8080/webhooks -H @headers.txt -d '{"id":"evt_1","type":"ping"}'`,
	"verify": `  printf '%s' "$BODY" | hookproof verify --secret "$SECRET" -H "webhook-id: $ID" -H "webhook-timestamp: $TS" -H "webhook-signature: $SIG"
  printf '%s' "$BODY" | hookproof verify --scheme github --secret "$SECRET" -H "X-Hub-Signature-256: $SIG"`,
	"demo": `  hookproof demo                                  # about a minute; writes hookproof-demo/report.html
  hookproof demo --duration 60s --rate 300/s --seed 7`,
	"listen": `  # in front of your endpoint: judge every delivery, forward it, record it
  hookproof listen --listen 127.0.0.1:9000 --secret "$SECRET" --forward-to http://127.0.0.1:8080 --record deliveries.jsonl
  # a stand-in endpoint for a sender's test: 200 to valid deliveries, 401/400 to the others
  hookproof listen --listen 127.0.0.1:9000 --scheme stripe --secret "$SECRET" --ui 127.0.0.1:9001
  # no secret: signatures shown, not judged; timestamps, duplicates and retries still are
  hookproof listen --listen 127.0.0.1:9000 --scheme slack`,
	"badreceiver": `  # a receiver that acks before its inbox is durable, for crash drills
  hookproof badreceiver --flaw ack-before-durable --listen 127.0.0.1:8080 --secret "$SECRET" --db bad.db
  hookproof badreceiver --flaw double-process --listen 127.0.0.1:8080 --secret "$SECRET" --sink http://127.0.0.1:9300/effects`,
	"replay": `  # what listen recorded, again, into your endpoint (signed anew, retried like a real sender)
  hookproof replay deliveries.jsonl --url http://127.0.0.1:8080/webhooks --secret "$SECRET"
  # through chaos, at 20/s, as new events, or only two of them
  hookproof replay deliveries.jsonl --url http://127.0.0.1:8080/webhooks --chaos 'drop=0.1,lost-ack=0.1,duplicate=0.2' --seed 7 --rate 20/s
  hookproof replay deliveries.jsonl --url http://127.0.0.1:8080/webhooks --new-ids --only msg_1,msg_2
  # hand-written deliveries from stdin
  echo '{"headers":{"X-Tenant":"acme"},"body":{"id":"evt_1","type":"ping"}}' | hookproof replay - --url http://127.0.0.1:8080/webhooks`,
	"send": `  # a sample event in the scheme's shape; every header sent and the whole answer shown
  hookproof send --url http://127.0.0.1:8080/webhooks --scheme stripe --secret "$SECRET"
  # your own bytes, exactly as they are, retried until acknowledged
  hookproof send --url http://127.0.0.1:8080/webhooks --secret "$SECRET" --event order-paid.json --retry
  printf 'not even JSON' | hookproof send --url http://127.0.0.1:8080/webhooks --secret "$SECRET" --event -`,
}
