package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/mailitem"
	"github.com/holdfast/holdfast/internal/vault"
)

// messageRun backs up one mail folder through its message delta.
type messageRun struct {
	*runner
	m *Mailbox
}

func (r *messageRun) run(ctx context.Context) error {
	if err := r.begin(ctx); err != nil {
		return err
	}
	if !r.cur.RetriesDone {
		if err := r.retryOwed(ctx); err != nil {
			return err
		}
		r.cur.RetriesDone = true
	}
	return r.loop(ctx, "mail folder "+r.ContainerID, func(ctx context.Context, link string) (string, string, error) {
		page, err := r.m.Graph.MessageDelta(ctx, r.m.UserID, r.ContainerID, link)
		if err != nil {
			return "", "", err
		}
		if err := r.page(ctx, page.Items); err != nil {
			return "", "", err
		}
		return page.NextLink, page.DeltaLink, nil
	})
}

// retryOwed fetches the messages earlier runs failed.
func (r *messageRun) retryOwed(ctx context.Context) error {
	ids, err := r.Catalog.RetryItems(ctx, r.Key, r.ContainerID)
	if err != nil || len(ids) == 0 {
		return err
	}
	var msgs []graphapi.Message
	for _, id := range ids {
		m, err := r.m.Graph.Message(ctx, r.m.UserID, id)
		switch {
		case errors.Is(err, graphapi.ErrNotFound):
			msgs = append(msgs, graphapi.Message{ID: id, Removed: true})
		case err != nil:
			return err
		case m.FolderID != "" && m.FolderID != r.ContainerID:
			// Moved away since: its new folder's delta has it.
			msgs = append(msgs, graphapi.Message{ID: id, Removed: true})
		default:
			msgs = append(msgs, m)
		}
	}
	return r.page(ctx, msgs)
}

func (r *messageRun) page(ctx context.Context, msgs []graphapi.Message) error {
	msgs, current, err := latest(ctx, r.runner, msgs, func(m graphapi.Message) string { return m.ID })
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.Concurrency)
	for _, m := range msgs {
		id := m.ID
		prev, known := current[id]
		r.cur.Items++
		switch {
		case m.Removed:
			// With immutable IDs a moved message keeps its ID: only the
			// folder that holds it may remove it.
			if known && prev.ContainerID == r.ContainerID {
				r.removed(id)
			}
		case known && prev.ETag == m.ChangeKey && prev.ContainerID == r.ContainerID:
			r.unchanged(id)
		case known && propertiesOnly(prev, m):
			g.Go(func() error { return r.refresh(gctx, m, prev) })
		default:
			g.Go(func() error { return r.fetch(gctx, m) })
		}
	}
	return g.Wait()
}

// propertiesOnly says whether a message changed only in properties MIME
// does not carry (read state, flag, categories, importance): a sent or
// received message's content never changes, so the stored MIME and
// attachments stay.
func propertiesOnly(prev catalog.ItemVersion, m graphapi.Message) bool {
	var meta mailitem.Message
	if prev.Content == "" || json.Unmarshal([]byte(prev.Meta), &meta) != nil || catalog.DecodeExtra(prev.Extra)[mailitem.ExtraJSON] == "" {
		return false
	}
	return !m.IsDraft && !meta.IsDraft && m.InternetMessageID != "" && meta.InternetMessageID == m.InternetMessageID
}

// fetch stores a message: its MIME, its Graph JSON and its attachments.
func (r *messageRun) fetch(ctx context.Context, m graphapi.Message) error {
	return r.attempt(ctx, m.ID, subjectName(m.Subject), func() error {
		full, err := r.m.Graph.Message(ctx, r.m.UserID, m.ID)
		if err != nil {
			return err
		}
		mime, hash, err := r.mime(ctx, m.ID)
		if err != nil {
			return err
		}
		meta := messageMeta(full)
		extra := map[string]string{}
		if extra[mailitem.ExtraJSON], err = r.storeBytes(ctx, full.Raw); err != nil {
			return err
		}
		if full.HasAttachments || bytes.Contains(full.Raw, []byte("cid:")) {
			// Inline images do not set hasAttachments: a body that refers
			// to one (cid:) has them.
			atts, err := r.m.Graph.Attachments(ctx, r.m.UserID, "messages/"+m.ID)
			if err != nil {
				return err
			}
			if len(atts) > 0 {
				tree, n := attachmentTree(atts)
				if extra[mailitem.ExtraAttachments], err = r.storeJSON(ctx, tree); err != nil {
					return err
				}
				meta.Attachments = n
			}
		}
		v := r.messageVersion(full, mime, meta, extra)
		v.Hash = hash
		r.stage(catalog.StagedItem{Op: catalog.OpUpsert, ItemVersion: v})
		return nil
	}, nil)
}

// refresh stores a message's new properties beside its stored content.
func (r *messageRun) refresh(ctx context.Context, m graphapi.Message, prev catalog.ItemVersion) error {
	return r.attempt(ctx, m.ID, subjectName(m.Subject), func() error {
		full, err := r.m.Graph.Message(ctx, r.m.UserID, m.ID)
		if err != nil {
			return err
		}
		var old mailitem.Message
		_ = json.Unmarshal([]byte(prev.Meta), &old)
		meta := messageMeta(full)
		meta.Attachments = old.Attachments
		extra := catalog.DecodeExtra(prev.Extra)
		if extra[mailitem.ExtraJSON], err = r.storeBytes(ctx, full.Raw); err != nil {
			return err
		}
		content, err := vault.ParseContent(prev.Content)
		if err != nil {
			return err
		}
		v := r.messageVersion(full, content, meta, extra)
		v.Hash = prev.Hash
		r.stage(catalog.StagedItem{Op: catalog.OpUpsert, ItemVersion: v})
		return nil
	}, nil)
}

// mime stores a message's MIME and returns it with its SHA-256 (the
// catalog's hash: verification and comparisons read it).
func (r *messageRun) mime(ctx context.Context, id string) (vault.Content, string, error) {
	if r.Downloads != nil {
		if err := r.Downloads.Acquire(ctx, 1); err != nil {
			return vault.Content{}, "", err
		}
		defer r.Downloads.Release(1)
	}
	body, err := r.m.Graph.MessageMIME(ctx, r.m.UserID, id)
	if err != nil {
		return vault.Content{}, "", err
	}
	defer body.Close()
	sum := sha256.New()
	c, err := r.store(ctx, io.TeeReader(body, sum))
	if err != nil {
		return c, "", err
	}
	r.counted(c.Size)
	return c, "sha256:" + hex.EncodeToString(sum.Sum(nil)), nil
}

func (r *messageRun) messageVersion(m graphapi.Message, mime vault.Content, meta mailitem.Message, extra map[string]string) catalog.ItemVersion {
	mj, _ := json.Marshal(meta)
	when := m.Received
	if when.IsZero() {
		when = m.Sent
	}
	return catalog.ItemVersion{ItemID: m.ID, ContainerID: r.ContainerID, ParentID: r.ContainerID,
		Name: subjectName(m.Subject), Kind: mailitem.KindMessage, Size: mime.Size, Created: when,
		Modified: lastModified(m.Raw, when), ETag: m.ChangeKey, Content: mime.Marshal(), Extra: catalog.EncodeExtra(extra), Meta: string(mj)}
}

func messageMeta(m graphapi.Message) mailitem.Message {
	var p struct {
		Flag struct {
			FlagStatus string `json:"flagStatus"`
		} `json:"flag"`
	}
	_ = json.Unmarshal(m.Raw, &p)
	return mailitem.Message{InternetMessageID: m.InternetMessageID, From: m.From, Received: m.Received, Sent: m.Sent,
		IsRead: m.IsRead, IsDraft: m.IsDraft, Flag: p.Flag.FlagStatus, HasAttachments: m.HasAttachments}
}

// lastModified reads lastModifiedDateTime from an item's JSON.
func lastModified(raw json.RawMessage, fallback time.Time) time.Time {
	var p struct {
		LastModified time.Time `json:"lastModifiedDateTime"`
	}
	if json.Unmarshal(raw, &p) != nil || p.LastModified.IsZero() {
		return fallback
	}
	return p.LastModified
}

func subjectName(s string) string {
	if s == "" {
		return "(no subject)"
	}
	return s
}

// attachmentTree converts the service's attachments to the stored tree
// and counts them, all levels.
func attachmentTree(atts []graphapi.Attachment) ([]mailitem.Attachment, int) {
	out := make([]mailitem.Attachment, 0, len(atts))
	n := 0
	for _, a := range atts {
		m := mailitem.Attachment{Kind: a.Kind, Name: a.Name, ContentType: a.ContentType, Size: a.Size,
			IsInline: a.IsInline, Content: a.Content, ItemType: a.ItemType, Item: a.Item, Raw: a.Raw}
		if len(a.Children) > 0 {
			var k int
			m.Children, k = attachmentTree(a.Children)
			n += k
		}
		out = append(out, m)
		n++
	}
	return out, n
}

// storeBytes stores b as a vault content of its own.
func (r *runner) storeBytes(ctx context.Context, b []byte) (string, error) {
	c, err := r.store(ctx, bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	r.counted(c.Size)
	return c.Marshal(), nil
}

func (r *runner) storeJSON(ctx context.Context, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return r.storeBytes(ctx, b)
}

// readAll reads a stream the service sent (a photo) into memory.
func readAll(rc io.ReadCloser) ([]byte, error) {
	defer rc.Close()
	return io.ReadAll(rc)
}
