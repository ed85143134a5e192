package sender

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAPI(t *testing.T) {
	rec := newRecorder(t)
	s := openTest(t, WithSchedule(Schedule{0}))
	s.Start()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	call := func(method, path, key, body string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
		return resp.StatusCode, string(b), resp.Header
	}

	code, body, _ := call("POST", "/endpoints", "", `{"url":"`+rec.URL()+`","secret":"`+testSecret+`"}`)
	if code != 201 || strings.Contains(body, testSecret) {
		t.Fatalf("POST /endpoints: %d %s", code, body)
	}
	var ep Endpoint
	json.Unmarshal([]byte(body), &ep)
	if ep.ID == "" || ep.Scheme != "standard" {
		t.Fatalf("endpoint %+v", ep)
	}

	code, body, _ = call("POST", "/messages", "key-1", `{"endpoint_id":"`+ep.ID+`","type":"order.updated","data":{"object_id":"ord_1","seq":1}}`)
	if code != 202 {
		t.Fatalf("POST /messages: %d %s", code, body)
	}
	var m Message
	json.Unmarshal([]byte(body), &m)
	code, body, h := call("POST", "/messages", "key-1", `{"endpoint_id":"`+ep.ID+`","type":"order.updated","data":{"object_id":"ord_1","seq":1}}`)
	var m2 Message
	json.Unmarshal([]byte(body), &m2)
	if code != 200 || m2.ID != m.ID || h.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeated POST /messages: %d %s, want 200 with the same id", code, body)
	}
	eventually(t, 10*time.Second, "delivered", func() bool {
		_, b, _ := call("GET", "/messages/"+m.ID, "", "")
		return strings.Contains(b, `"status":"delivered"`)
	})
	code, body, _ = call("GET", "/messages/"+m.ID+"/attempts", "", "")
	if code != 200 || !strings.Contains(body, `"outcome":"success"`) {
		t.Errorf("GET attempts: %d %s", code, body)
	}
	code, body, _ = call("GET", "/endpoints/"+ep.ID, "", "")
	if code != 200 || strings.Contains(body, testSecret) || strings.Contains(body, "secret\":") {
		t.Errorf("GET endpoint: %d %s (must not carry the secret)", code, body)
	}

	errs := []struct {
		method, path, key, body string
		code                    int
		want                    string
	}{
		{"POST", "/endpoints", "", `{"url":"http://x/y"}`, 400, "secret: required"},
		{"POST", "/endpoints", "", `{"url":"http://x/y","secret":"s","colour":"red"}`, 400, `unknown field "colour"`},
		{"POST", "/endpoints", "", `not json`, 400, "not valid JSON"},
		{"POST", "/endpoints", "", ``, 400, "empty"},
		{"POST", "/endpoints", "", `{"url":"http://x/y","secret":"` + testSecret + `","previous_ttl":"soon"}`, 400, "duration"},
		{"POST", "/endpoints", "", `{"url":"http://x/y","secret":` + `"` + testSecret + `"}{}`, 400, "more than one"},
		{"POST", "/endpoints", "", `{"url":` + `"` + strings.Repeat("a", maxRequestBody) + `"}`, 413, "over"},
		{"GET", "/endpoints/ep_nope", "", "", 404, "not found"},
		{"POST", "/messages", "", `{"endpoint_id":"ep_nope","type":"a.b","data":{}}`, 404, "not found"},
		{"POST", "/messages", "", `{"endpoint_id":"` + ep.ID + `","type":"a.b","data":[]}`, 400, "JSON object"},
		{"POST", "/messages", "key-1", `{"endpoint_id":"` + ep.ID + `","type":"other.type","data":{}}`, 409, "Idempotency-Key"},
		{"GET", "/messages/msg_nope", "", "", 404, "not found"},
		{"GET", "/messages/msg_nope/attempts", "", "", 404, "not found"},
		{"POST", "/messages/msg_nope/replay", "", "", 404, "not found"},
		{"POST", "/replay?since=yesterday", "", "", 400, "RFC 3339"},
		{"GET", "/dead-letters?limit=0", "", "", 400, "limit"},
		{"GET", "/nowhere", "", "", 404, "no route"},
	}
	for _, tt := range errs {
		code, body, _ := call(tt.method, tt.path, tt.key, tt.body)
		var e struct {
			Error string `json:"error"`
		}
		if code != tt.code || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, tt.want) {
			t.Errorf("%s %s: %d %s; want %d with %q", tt.method, tt.path, code, truncate(body, 200), tt.code, tt.want)
		}
	}
	if code, body, _ := call("GET", "/healthz", "", ""); code != 200 {
		t.Errorf("healthz: %d %s", code, body)
	}
	if code, body, _ := call("GET", "/dead-letters", "", ""); code != 200 || !strings.Contains(body, `"dead_letters":[]`) {
		t.Errorf("dead letters: %d %s", code, body)
	}
}

func TestClient(t *testing.T) {
	clk := newFakeClock()
	rec := newRecorder(t, step{status: 500})
	s := openTest(t, WithClock(clk.Now), WithSchedule(Schedule{0}))
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	c, err := NewClient(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ep, err := c.CreateEndpoint(ctx, EndpointSpec{URL: rec.URL(), Secret: testSecret, PreviousSecrets: []string{testSecret2}}, "ep-key")
	if err != nil || !ep.Rotating {
		t.Fatalf("CreateEndpoint: %+v, %v", ep, err)
	}
	again, err := c.CreateEndpoint(ctx, EndpointSpec{URL: rec.URL(), Secret: testSecret, PreviousSecrets: []string{testSecret2}}, "ep-key")
	if err != nil || again.ID != ep.ID {
		t.Errorf("idempotent CreateEndpoint: %s then %s (%v)", ep.ID, again.ID, err)
	}
	m, err := c.Send(ctx, SendRequest{EndpointID: ep.ID, Type: "a.b", Data: json.RawMessage(`{"x":1}`)}, "")
	if err != nil {
		t.Fatal(err)
	}
	deliverDue(t, s)
	dl, err := c.DeadLetters(ctx, ep.ID, 5)
	if err != nil || len(dl) != 1 || dl[0].ID != m.ID {
		t.Fatalf("DeadLetters: %v, %v", dl, err)
	}
	as, err := c.Attempts(ctx, m.ID)
	if err != nil || len(as) != 1 || as[0].StatusCode != 500 {
		t.Errorf("Attempts: %+v, %v", as, err)
	}
	rec.setScript(step{status: 200})
	if r, err := c.ReplayFailedSince(ctx, clk.Now().Add(-time.Hour), ""); err != nil || r.Replayed != 1 {
		t.Errorf("ReplayFailedSince: %+v, %v", r, err)
	}
	deliverDue(t, s)
	if got, err := c.Message(ctx, m.ID); err != nil || got.Status != Delivered {
		t.Errorf("Message: %+v, %v", got, err)
	}
	if _, err := c.Replay(ctx, m.ID); err != nil {
		t.Errorf("Replay of a delivered message: %v", err)
	}
	if _, err := c.RotateSecret(ctx, ep.ID, Rotation{Secret: "nope"}); err == nil {
		t.Error("RotateSecret accepted a bad secret")
	} else {
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 400 {
			t.Errorf("RotateSecret error %v, want an APIError 400", err)
		}
	}
	if _, err := c.EnableEndpoint(ctx, ep.ID); err != nil {
		t.Errorf("EnableEndpoint: %v", err)
	}
	if _, err := c.Endpoint(ctx, "ep_none"); err == nil {
		t.Error("Endpoint of an unknown id did not fail")
	}
	if _, err := NewClient("127.0.0.1:80", nil); err == nil {
		t.Error("NewClient accepted a base URL without a scheme")
	}
}
