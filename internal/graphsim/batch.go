package graphsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// JSON batching (https://learn.microsoft.com/graph/json-batching): POST /$batch with at most 20
// requests with unique ids and relative URLs. Each runs through the same router, with the
// outer request's token, permission checks and throttling — a throttled request comes back as
// 429 with Retry-After inside the 200. dependsOn orders requests; when a request fails (status
// ≥ 400) its dependents get 424 Failed Dependency. Independent requests run concurrently, at
// most 4 at a time per mailbox (Outlook's rule for $batch; the rest wait) and 4 at a time for
// everything else. Responses come back in an order that is not the request order, so clients
// must correlate by id.

const maxBatchRequests = 20

type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`
}

func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var body struct {
		Requests []batchRequest `json:"requests"`
	}
	if e := readJSONBody(r, &body); e != nil {
		writeAPIError(w, rc, newAPIError(http.StatusBadRequest, "BadRequest", "Invalid batch payload format."))
		return
	}
	reqs := body.Requests
	if len(reqs) == 0 {
		writeAPIError(w, rc, newAPIError(http.StatusBadRequest, "BadRequest", "Invalid batch payload format: no requests."))
		return
	}
	if len(reqs) > maxBatchRequests {
		writeAPIError(w, rc, newAPIError(http.StatusBadRequest, "BadRequest", "The number of requests in a batch is limited to 20."))
		return
	}
	byID := map[string]int{}
	for i, br := range reqs {
		k := strings.ToLower(br.ID)
		if br.ID == "" || br.Method == "" || br.URL == "" {
			writeAPIError(w, rc, newAPIError(http.StatusBadRequest, "BadRequest", "Every batch request needs id, method and url."))
			return
		}
		if _, dup := byID[k]; dup {
			writeAPIError(w, rc, newAPIError(http.StatusBadRequest, "BadRequest", "Batch request ids must be unique: '"+br.ID+"'."))
			return
		}
		byID[k] = i
	}
	order, ok := batchOrder(reqs, byID)
	if !ok {
		writeAPIError(w, rc, newAPIError(http.StatusBadRequest, "BadRequest", "dependsOn names an unknown request or forms a cycle."))
		return
	}
	// Requests run concurrently as their dependencies allow, at most 4 at a time per mailbox
	// (Outlook's rule for $batch) and 4 at a time for everything else; the rest wait.
	status := make([]int, len(reqs))
	resps := make([]batchResponse, len(reqs))
	done := make([]chan struct{}, len(reqs))
	sems := map[string]chan struct{}{}
	keys := make([]string, len(reqs))
	for i := range reqs {
		done[i] = make(chan struct{})
		keys[i] = s.batchMailboxKey(reqs[i].URL)
		if sems[keys[i]] == nil {
			sems[keys[i]] = make(chan struct{}, mailboxConcurrency)
		}
	}
	var wg sync.WaitGroup
	for _, i := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[i])
			br := reqs[i]
			failedDep := false
			for _, dep := range br.DependsOn {
				j := byID[strings.ToLower(dep)]
				<-done[j]
				if status[j] >= 400 {
					failedDep = true
				}
			}
			if failedDep {
				resps[i] = batchResponse{ID: br.ID, Status: http.StatusFailedDependency,
					Headers: map[string]string{"Content-Type": "application/json"},
					Body: map[string]any{"error": map[string]any{"code": "FailedDependency",
						"message": "The request depends on a request in the batch that failed."}}}
				status[i] = http.StatusFailedDependency
				return
			}
			sem := sems[keys[i]]
			sem <- struct{}{}
			resps[i] = s.runBatchItem(r, br)
			<-sem
			status[i] = resps[i].Status
		}()
	}
	wg.Wait()
	out := resps
	// Out of order on purpose.
	slices.SortStableFunc(out, func(a, b batchResponse) int {
		ha, hb := fnvHash(a.ID), fnvHash(b.ID)
		switch {
		case ha < hb:
			return -1
		case ha > hb:
			return 1
		}
		return 0
	})
	writeJSON(w, http.StatusOK, map[string]any{"responses": out})
}

// batchMailboxKey names the mailbox a batch request addresses ("" for none).
func (s *Server) batchMailboxKey(u string) string {
	p, _, _ := strings.Cut(u, "?")
	if up, err := url.PathUnescape(p); err == nil {
		p = up
	}
	segs := splitSegs(strings.TrimPrefix(p, "/v1.0"))
	s.t.mu.RLock()
	defer s.t.mu.RUnlock()
	switch {
	case len(segs) >= 3 && strings.EqualFold(segs[0], "users") && outlookRoots[lower(segs[2])]:
		if u := s.t.userByKey(segs[1]); u != nil && u.mbx != nil {
			return "mbx:" + u.mbx.id
		}
	case len(segs) >= 4 && strings.EqualFold(segs[0], "admin") && strings.EqualFold(segs[1], "exchange"):
		if mb := s.t.mailboxesByID[strings.ToLower(segs[3])]; mb != nil {
			return "mbx:" + mb.id
		}
	}
	return ""
}

func fnvHash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// batchOrder is a topological order of the requests (request order where free).
func batchOrder(reqs []batchRequest, byID map[string]int) ([]int, bool) {
	state := make([]uint8, len(reqs)) // 0 new, 1 visiting, 2 done
	var order []int
	var visit func(int) bool
	visit = func(i int) bool {
		switch state[i] {
		case 1:
			return false
		case 2:
			return true
		}
		state[i] = 1
		for _, dep := range reqs[i].DependsOn {
			j, ok := byID[strings.ToLower(dep)]
			if !ok || !visit(j) {
				return false
			}
		}
		state[i] = 2
		order = append(order, i)
		return true
	}
	for i := range reqs {
		if !visit(i) {
			return nil, false
		}
	}
	return order, true
}

func (s *Server) runBatchItem(outer *http.Request, br batchRequest) batchResponse {
	rc := s.newReqCtx(outer)
	rc.inner = true
	rec := newRecorder()
	fail := func(status int, code, msg string) batchResponse {
		writeAPIError(rec, rc, newAPIError(status, code, msg))
		return rec.response(br.ID)
	}
	u := br.URL
	if strings.Contains(u, "://") {
		return fail(http.StatusBadRequest, "BadRequest", "Batch request URLs must be relative, such as /users.")
	}
	if !strings.HasPrefix(u, "/") {
		u = "/" + u
	}
	if p, _, _ := strings.Cut(u, "?"); strings.HasPrefix(p, "/$batch") || strings.HasPrefix(p, "/%24batch") {
		return fail(http.StatusBadRequest, "BadRequest", "Nested batch requests are not supported.")
	}
	var body io.Reader = http.NoBody
	ct := ""
	for k, v := range br.Headers {
		if strings.EqualFold(k, "Content-Type") {
			ct = v
		}
	}
	if len(br.Body) > 0 && string(br.Body) != "null" {
		if ct == "" {
			return fail(http.StatusBadRequest, "BadRequest", "A Content-Type header is required when a body is specified.")
		}
		raw := []byte(br.Body)
		if raw[0] == '"' && !strings.Contains(strings.ToLower(ct), "json") {
			var str string
			_ = json.Unmarshal(raw, &str)
			dec, err := base64.StdEncoding.DecodeString(str)
			if err != nil {
				return fail(http.StatusBadRequest, "BadRequest", "A non-JSON body must be base64-encoded.")
			}
			raw = dec
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(outer.Context(), strings.ToUpper(br.Method), "https://"+outer.Host+"/v1.0"+u, body)
	if err != nil {
		return fail(http.StatusBadRequest, "BadRequest", "Invalid request URL: "+err.Error())
	}
	req.Host = outer.Host
	req.RemoteAddr = outer.RemoteAddr
	for k, v := range br.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Authorization", outer.Header.Get("Authorization"))
	setGraphHeaders(rec, rc)
	s.dispatch(rec, req, rc)
	return rec.response(br.ID)
}

// recorder is a minimal in-memory ResponseWriter for batch items.
type recorder struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func newRecorder() *recorder { return &recorder{h: http.Header{}} }

func (rr *recorder) Header() http.Header { return rr.h }
func (rr *recorder) WriteHeader(code int) {
	if rr.status == 0 {
		rr.status = code
	}
}
func (rr *recorder) Write(p []byte) (int, error) {
	if rr.status == 0 {
		rr.status = http.StatusOK
	}
	return rr.buf.Write(p)
}

func (rr *recorder) response(id string) batchResponse {
	resp := batchResponse{ID: id, Status: rr.status, Headers: map[string]string{}}
	if resp.Status == 0 {
		resp.Status = http.StatusOK
	}
	for k, v := range rr.h {
		if len(v) > 0 && !strings.EqualFold(k, "Content-Length") {
			resp.Headers[k] = v[0]
		}
	}
	if rr.buf.Len() > 0 {
		if strings.Contains(strings.ToLower(rr.h.Get("Content-Type")), "json") {
			resp.Body = json.RawMessage(bytes.TrimSpace(rr.buf.Bytes()))
		} else {
			resp.Body = base64.StdEncoding.EncodeToString(rr.buf.Bytes())
		}
	}
	return resp
}
