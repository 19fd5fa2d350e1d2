package restore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/tree"
)

// tracker counts a restore and reports how far it is done: nodes finish
// out of order (in parallel), progress is the prefix of finished ones, so
// a resumed attempt starts after it.
type tracker struct {
	mu       sync.Mutex
	res      Result
	done     []bool
	mark     int // nodes before mark are all done
	progress func(done int, so Result)
	log      *slog.Logger
}

func newTracker(n, start int, progress func(int, Result), log *slog.Logger) *tracker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &tracker{done: make([]bool, n), mark: start, progress: progress, log: log}
}

func (r *tracker) finish(i int) {
	r.mu.Lock()
	r.done[i] = true
	moved := false
	for r.mark < len(r.done) && r.done[r.mark] {
		r.mark++
		moved = true
	}
	mark, so := r.mark, r.res
	so.Failures = nil
	r.mu.Unlock()
	if moved && r.progress != nil {
		r.progress(mark, so)
	}
}

func (r *tracker) fail(n *tree.Node, err error) {
	r.log.Warn("restore item failed", "item", n.ItemID, "err", err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Failed++
	if len(r.res.Failures) < maxFailureLines {
		r.res.Failures = append(r.res.Failures, fmt.Sprintf("%s: %v", n.Path, err))
	}
}

func (r *tracker) count(n *tree.Node, skipped bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if skipped {
		r.res.Skipped++
		return
	}
	r.res.Restored++
	r.res.Bytes += n.Size
}

// walk restores nodes[start:] (pre-order, as tree.Select returns). Each
// folder node's destination is made by folder, in order, so that an item's
// folder exists before it; each other node is written by item into the
// destination parent resolves, up to concurrency at once. A node that
// fails is recorded and the walk goes on; throttling, lost authorization or
// cancellation stop it.
func (r *tracker) walk(ctx context.Context, nodes []*tree.Node, start, concurrency int,
	folder func(context.Context, *tree.Node) error,
	parent func(context.Context, *tree.Node) (string, error),
	item func(ctx context.Context, n *tree.Node, dest string) (skipped bool, err error)) (Result, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	stop := func(err error) bool { return gctx.Err() != nil || fatal(err) }
	for i := start; i < len(nodes); i++ {
		n := nodes[i]
		if n.IsFolder() {
			if err := folder(gctx, n); err != nil {
				if stop(err) {
					g.Wait()
					return r.result(), err
				}
				r.fail(n, err)
			}
			r.finish(i)
			continue
		}
		dest, err := parent(gctx, n)
		if err != nil {
			if stop(err) {
				g.Wait()
				return r.result(), err
			}
			r.fail(n, fmt.Errorf("its folder: %w", err))
			r.finish(i)
			continue
		}
		g.Go(func() error {
			skipped, err := item(gctx, n, dest)
			switch {
			case err != nil && fatal(err):
				return err
			case err != nil:
				r.fail(n, err)
			default:
				r.count(n, skipped)
			}
			r.finish(i)
			return nil
		})
	}
	err := g.Wait()
	return r.result(), err
}

func (r *tracker) result() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res
}

// fatal says whether an error stops the restore rather than one item.
func fatal(err error) bool {
	var throttled *graphapi.ThrottledError
	return errors.As(err, &throttled) || errors.Is(err, graphapi.ErrUnauthorized) || errors.Is(err, graphapi.ErrForbidden)
}

func isNotFound(err error) bool { return errors.Is(err, graphapi.ErrNotFound) }
