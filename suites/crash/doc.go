// Package crash runs crash-consistency drills: a receiver or sender in a container is killed
// with SIGKILL mid-stream, restarted on the same data volume, and the books must still balance.
//
// A receiver drill (ReceiverCrash) drives a load run through the chaos proxy at a receiver in a
// container, kills it while deliveries are in flight, starts it again on the same volume and
// lets the retries drain; then every acknowledged event must have exactly one effect and every
// event must have been acknowledged. A sender drill (SenderCrash) kills a sender in a container
// while it delivers a batch of messages through the chaos proxy to an in-process reference
// receiver; after the restart every message must be delivered, and processed exactly once.
//
//	load ─▶ chaos ─▶ [receiver container ✗ SIGKILL … restart] ─effects─▶ sink ─▶ ledger
//	sender API ─▶ [sender container ✗ SIGKILL … restart] ─▶ chaos ─▶ reference receiver ─▶ sink
//
// The Ginkgo specs (label "crash") run these drills against the reference receiver, the
// reference sender, and a known-bad receiver that acknowledges before its write is durable,
// which must fail.
package crash
