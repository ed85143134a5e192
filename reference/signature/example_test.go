package signature_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
)

// A sender signs a delivery; the receiver verifies the raw body and headers it got, with its
// own clock (here fixed, so the output is stable).
func ExampleNew() {
	now := time.Unix(1614265330, 0)
	clock := signature.WithClock(func() time.Time { return now })
	scheme, err := signature.New("standard", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", clock)
	if err != nil {
		fmt.Println(err)
		return
	}
	body := []byte(`{"test": 2432232314}`)
	h, err := scheme.Sign(signature.Message{ID: "msg_p5jXN8AQM9LWM0D4loKWxJek", Body: body})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(signature.HeaderWebhookSignature+":", h.Get(signature.HeaderWebhookSignature))

	v, err := scheme.Verify(h, body)
	fmt.Println("verified:", v.ID, v.Timestamp.Unix(), err)

	_, err = scheme.Verify(h, []byte(`{"test": 2432232315}`))
	fmt.Println("tampered:", errors.Is(err, signature.ErrInvalidSignature))
	// Output:
	// webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
	// verified: msg_p5jXN8AQM9LWM0D4loKWxJek 1614265330 <nil>
	// tampered: true
}

// During a secret rotation the verifier accepts either secret; errors.Is tells a stale
// delivery from a forged one.
func ExampleScheme_Verify() {
	now := time.Unix(1700000000, 0)
	clock := signature.WithClock(func() time.Time { return now })
	oldSender, _ := signature.New("stripe", "whsec_old", clock)
	receiver, _ := signature.New("stripe", "whsec_new", signature.WithRotatedSecrets("whsec_old"), clock)

	body := []byte(`{"id":"evt_1","type":"charge.succeeded"}`)
	h, _ := oldSender.Sign(signature.Message{Body: body})
	v, err := receiver.Verify(h, body)
	fmt.Println("old secret:", v.ID, err)

	stale, _ := oldSender.Sign(signature.Message{Body: body, Timestamp: now.Add(-time.Hour)})
	_, err = receiver.Verify(stale, body)
	fmt.Println("an hour old:", errors.Is(err, signature.ErrTimestampTooOld))
	// Output:
	// old secret: evt_1 <nil>
	// an hour old: true
}
