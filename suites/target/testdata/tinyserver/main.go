// Command tinyserver is the endpoint the target tests run in a container: it listens on $PORT,
// answers /healthz, appends each POST body to /data/posts (fsynced) and reports the count.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

func main() {
	fail := flag.Int("fail", 0, "exit with this code at once")
	sleep := flag.Duration("sleep", 0, "wait this long before listening")
	flag.Parse()
	if *fail != 0 {
		fmt.Println("tinyserver: failing on purpose")
		os.Exit(*fail)
	}
	time.Sleep(*sleep)
	if s := os.Getenv("API_SECRET"); s != "" {
		fmt.Println("tinyserver: careless log of API_SECRET=" + s)
	}
	var mu sync.Mutex
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			f, err := os.OpenFile("/data/posts", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintf(f, "%s\n", strings.TrimSpace(string(body)))
			f.Sync()
			f.Close()
		}
		b, _ := os.ReadFile("/data/posts")
		fmt.Fprintf(w, "%d", strings.Count(string(b), "\n"))
	})
	addr := "127.0.0.1:" + os.Getenv("PORT")
	fmt.Println("tinyserver: listening on " + addr)
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Println("tinyserver:", err)
		os.Exit(1)
	}
}
