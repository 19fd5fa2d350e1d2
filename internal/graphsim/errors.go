package graphsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Graph error bodies follow https://learn.microsoft.com/graph/errors:
//
//	{"error":{"code":"…","message":"…","innerError":{"code":"…","date":"…","request-id":"…","client-request-id":"…"}}}
//
// OneDrive puts its more specific code (resyncChangesApplyDifferences, throttledRequest, …) in
// innerError.code, so clients must look there too.

const odataJSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// reqCtx carries per-request facts through the Graph pipeline.
type reqCtx struct {
	reqID       string
	clientReqID string
	now         time.Time
	claims      *accessClaims
	inner       bool // executing inside $batch
}

type apiError struct {
	status    int
	code      string
	message   string
	innerCode string
	header    map[string]string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newAPIError(status int, code, msg string) *apiError {
	return &apiError{status: status, code: code, message: msg}
}

func errNotFound() *apiError {
	return newAPIError(http.StatusNotFound, "itemNotFound", "The resource could not be found.")
}

func errBadRequest(msg string) *apiError {
	return newAPIError(http.StatusBadRequest, "invalidRequest", msg)
}

func (e *apiError) withInner(code string) *apiError { e.innerCode = code; return e }

func (e *apiError) withHeader(k, v string) *apiError {
	if e.header == nil {
		e.header = map[string]string{}
	}
	e.header[k] = v
	return e
}

func writeAPIError(w http.ResponseWriter, rc *reqCtx, e *apiError) {
	inner := map[string]any{
		"date":              rc.now.UTC().Format("2006-01-02T15:04:05"),
		"request-id":        rc.reqID,
		"client-request-id": rc.clientReqID,
	}
	if e.innerCode != "" {
		inner["code"] = e.innerCode
	}
	for k, v := range e.header {
		w.Header().Set(k, v)
	}
	writeJSON(w, e.status, map[string]any{"error": map[string]any{
		"code": e.code, "message": e.message, "innerError": inner,
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", odataJSON)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// oauthError is the Entra ID token-endpoint error body (AADSTS codes).
func writeOAuthError(w http.ResponseWriter, status int, errCode string, aadsts int, desc string, now time.Time) {
	trace, corr := randomGUID(), randomGUID()
	ts := now.UTC().Format("2006-01-02 15:04:05Z")
	full := "AADSTS" + strconv.Itoa(aadsts) + ": " + desc + " Trace ID: " + trace +
		" Correlation ID: " + corr + " Timestamp: " + ts
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSONPlain(w, status, map[string]any{
		"error":             errCode,
		"error_description": full,
		"error_codes":       []int{aadsts},
		"timestamp":         ts,
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         "https://login.microsoftonline.com/error?code=" + strconv.Itoa(aadsts),
	})
}

func writeJSONPlain(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
