package chaos_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/hookproof/hookproof/chaos"
)

// A proxy embedded in a test: the first two attempts of every delivery fail with a 503,
// the third goes through.
func ExampleNewProxy() {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "stored")
	}))
	defer upstream.Close()

	specs, err := chaos.ParseSpec("error=1(status=503,attempts=1-2)")
	if err != nil {
		panic(err)
	}
	p, err := chaos.NewProxy(upstream.URL, chaos.WithSeed(42), chaos.WithFaults(specs...))
	if err != nil {
		panic(err)
	}
	defer p.Close()
	srv := httptest.NewServer(p)
	defer srv.Close()

	for attempt := 1; attempt <= 3; attempt++ {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks", strings.NewReader(`{"id":"evt_1"}`))
		req.Header.Set("webhook-id", "msg_1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println("attempt", attempt, resp.StatusCode)
	}
	st := p.Stats()
	fmt.Println("seed", st.Seed, "requests", st.Requests, "error fired", st.Faults["error"])
	// Output:
	// attempt 1 503
	// attempt 2 503
	// attempt 3 200
	// seed 42 requests 3 error fired 2
}
