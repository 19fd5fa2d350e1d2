package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/quickxor"
	"github.com/holdfast/holdfast/internal/tree"
)

// maxProblems bounds the problems a verification reports by name.
const maxProblems = 50

// VerifySnapshot re-reads every file of a snapshot from the vault: each
// chunk must decrypt and match its ID, and each file must match the
// service's hash recorded at backup.
func (a *Activities) VerifySnapshot(ctx context.Context, in VerifyInput) (VerifyResult, error) {
	snap, err := a.snapshot(ctx, in.SnapshotID)
	if err != nil {
		return VerifyResult{}, err
	}
	ring, err := a.keys(ctx, snap.TenantID)
	if err != nil {
		return VerifyResult{}, classify(err)
	}
	nodes, err := a.selection(ctx, snap, Selection{})
	if err != nil {
		return VerifyResult{}, err
	}
	hb := newHeartbeat(ctx, nil)
	defer hb.stop()
	open := a.opener(snap.TenantID, ring)
	var res VerifyResult
	for _, n := range nodes {
		if n.IsFolder() {
			continue
		}
		res.Items++
		if err := verifyFile(ctx, open, n); err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			res.Bad++
			if len(res.Problems) < maxProblems {
				res.Problems = append(res.Problems, fmt.Sprintf("%s: %v", n.Path, err))
			}
			continue
		}
		res.Bytes += n.Size
	}
	return res, nil
}

func verifyFile(ctx context.Context, open func(context.Context, string) (io.ReadCloser, error), n *tree.Node) error {
	body, err := open(ctx, n.Content)
	if err != nil {
		return err
	}
	defer body.Close()
	qx, sum := quickxor.New(), sha256.New()
	got, err := io.Copy(io.MultiWriter(qx, sum), body)
	if err != nil {
		return err
	}
	if got != n.Size {
		return fmt.Errorf("%d bytes stored, %d expected", got, n.Size)
	}
	algo, want, _ := strings.Cut(n.Hash, ":")
	match := true
	switch algo {
	case "qxh":
		match = quickxor.Base64(qx) == want
	case "sha256":
		match = strings.EqualFold(hex.EncodeToString(sum.Sum(nil)), want)
	}
	if !match {
		return fmt.Errorf("content does not match the %s hash the service reported at backup", algo)
	}
	// Extra contents (a message's properties and attachments, a contact's
	// photo) must read back whole too.
	for name, c := range catalog.DecodeExtra(n.Extra) {
		if err := readAll(ctx, open, c); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func readAll(ctx context.Context, open func(context.Context, string) (io.ReadCloser, error), content string) error {
	body, err := open(ctx, content)
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(io.Discard, body)
	return err
}
