package graphsim

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Many clients walking deltas and downloading while the tenant changes underneath them (run
// with -race to check the locking).
func TestConcurrentClients(t *testing.T) {
	s := startSim(t, Options{Users: 4, FilesPerUser: 60})
	c := authed(t, s)
	users := s.Users()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := users[i%len(users)]
			next := driveBase(u) + "/root/delta?$top=25"
			for next != "" {
				st, body := c.getJSON(next)
				if st != http.StatusOK {
					errs <- fmt.Errorf("delta: %d %v", st, body)
					return
				}
				for _, v := range body["value"].([]any) {
					it := v.(map[string]any)
					if dl, ok := it["@microsoft.graph.downloadUrl"].(string); ok && i%3 == 0 {
						resp, err := c.hc.Get(dl)
						if err != nil {
							errs <- err
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}
				next, _ = body["@odata.nextLink"].(string)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k := range 10 {
			if _, err := s.Mutate(MutateRequest{Seed: int64(k), Creates: 2, Updates: 2, Deletes: 1, Moves: 1, Renames: 1}); err != nil {
				errs <- err
			}
			u := users[k%len(users)]
			resp := c.do(http.MethodPut, driveBase(u)+fmt.Sprintf("/root:/up/%d.txt:/content", k), bytes.NewReader([]byte("x")))
			readAll(t, resp)
			if resp.StatusCode != http.StatusCreated {
				errs <- fmt.Errorf("upload: %d", resp.StatusCode)
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
