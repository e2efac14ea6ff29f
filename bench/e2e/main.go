// Fixed-rate (open-loop) webhook sender for bench/compare.sh's end-to-end phase. Standard library
// only. POSTs 8x8 VIRTUAL_NUMBER_UPDATE bodies, one never-seen number each, at -rate per second
// for -duration, and writes "number send_unix_ns status answer_us error" per request to -out
// (answer_us counts from the request's scheduled time, so time spent waiting for a free
// connection is latency too; error is the JSON "error" of a non-2xx answer, "-" otherwise).
// Requests are scheduled on a fixed timetable (not "send when the previous one returned"), so a
// slow server shows up as latency instead of a lower rate.
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sync"
	"time"
)

// padding returns `"pad":"<n random hex digits>",` (or "" for n = 0): bytes lz4 cannot shrink.
func padding(n int) string {
	if n <= 0 {
		return ""
	}
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return `"pad":"` + hex.EncodeToString(b)[:n] + `",`
}

func main() {
	url := flag.String("url", "http://127.0.0.1:8080/webhooks/8x8", "")
	auth := flag.String("auth", "", "Authorization header")
	rate := flag.Int("rate", 1000, "requests per second")
	dur := flag.Duration("duration", 20*time.Second, "")
	prefix := flag.Int("prefix", 1, "first digits after +1 distinguish runs (2..9)")
	out := flag.String("out", "sent.txt", "")
	workers := flag.Int("workers", 512, "concurrent connections at most")
	pad := flag.Int("pad", 0, "random hex characters added to each body (incompressible bytes)")
	flag.Parse()

	f, err := os.Create(*out)
	if err != nil {
		panic(err)
	}
	w := bufio.NewWriter(f)
	var mu sync.Mutex
	tr := &http.Transport{MaxIdleConns: *workers, MaxIdleConnsPerHost: *workers, MaxConnsPerHost: *workers}
	cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	errorField := regexp.MustCompile(`"error"\s*:\s*"([a-z_]+)"`)
	type job struct {
		num string
		at  time.Time
	}
	jobs := make(chan job, 100000)
	var wg sync.WaitGroup
	late := 0
	for i := 0; i < *workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				ts := time.Now()
				body := fmt.Sprintf(`{%s"namespace":"VOICE","eventType":"VIRTUAL_NUMBER_UPDATE","description":"Status of account virtual number(s) updated","payload":{"subAccountId":"E2E","totalNumbers":1,"updateEventType":"UPDATES","virtualNumbers":[{"msisdn":"%s","updatedTimestamp":"%s","countryCode":"US","operationalStatus":"Active","referenceId":"E2E","rentalPrice":1.25,"incomingRate":0.0085,"billingUnit":60,"billingCurrency":"USD","numberHealthCheckEnabled":true,"updateStatus":"UPDATED"}]}}`,
					padding(*pad), j.num, ts.UTC().Format("2006-01-02T15:04:05.000Z"))
				req, _ := http.NewRequest("POST", *url, bytes.NewBufferString(body))
				req.Header.Set("Content-Type", "application/json")
				if *auth != "" {
					req.Header.Set("Authorization", *auth)
				}
				status, code := "ERR", "-"
				resp, err := cl.Do(req)
				if err == nil {
					answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
					resp.Body.Close()
					status = fmt.Sprint(resp.StatusCode)
					if m := errorField.FindSubmatch(answer); m != nil && resp.StatusCode/100 != 2 {
						code = string(m[1])
					}
				} else {
					code = "transport"
				}
				took := time.Since(j.at).Microseconds()
				mu.Lock()
				fmt.Fprintf(w, "%s %d %s %d %s\n", j.num, ts.UnixNano(), status, took, code)
				mu.Unlock()
			}
		}()
	}
	n := int(float64(*rate) * dur.Seconds())
	start := time.Now()
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(float64(i) / float64(*rate) * float64(time.Second)))
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		} else if d < -10*time.Millisecond {
			late++
		}
		// +1 NPA(2..9)XX NXX XXXX: E.164-shaped, unique per request
		num := fmt.Sprintf("+1%d%02d%03d%04d", *prefix, 10+i/10000000%90, 200+i/10000%800, i%10000)
		jobs <- job{num, at}
	}
	close(jobs)
	wg.Wait()
	w.Flush()
	f.Close()
	el := time.Since(start).Seconds()
	fmt.Printf("sent=%d seconds=%.1f achieved_rate=%.0f scheduled_late=%d\n", n, el, float64(n)/el, late)
}
