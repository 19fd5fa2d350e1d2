// Package activities holds Holdfast's Temporal activities. They are thin:
// each loads what it needs from the catalog, unwraps the tenant's keys,
// and hands the work to internal/ (backup, restore, export, vault).
//
// Activities carry their dependencies in the Activities struct; workflows
// reference the methods through a nil *Activities, as in Temporal's samples.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"gocloud.dev/blob"
	"gocloud.dev/secrets"
	"golang.org/x/sync/semaphore"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/keys"
	"github.com/holdfast/holdfast/internal/vault"
)

// Activities holds what the activities need. Build it once per worker.
type Activities struct {
	Catalog   *catalog.Store
	Vault     *vault.Vault
	Bucket    *blob.Bucket     // the vault's bucket; downloads go under exports/
	KeeperURL string           // the customer's KEK (gocloud.dev/secrets URL)
	Graph     graphapi.Factory // Microsoft Graph, per tenant
	Temporal  client.Client    // to wait for a backup another workflow started
	Log       *slog.Logger

	// Tuning; zero values take defaults.
	DownloadConcurrency int // parallel downloads per container (default 8)
	WorkerDownloads     int // parallel downloads across the worker (default 16)
	WorkerContainers    int // drives backed up at once by the worker (default 4)
	WorkerMailFolders   int // mailbox containers backed up at once by the worker (default 8)

	mu         sync.Mutex
	downloads  *semaphore.Weighted
	containers *semaphore.Weighted
	mailFolder *semaphore.Weighted
	keeper     *secrets.Keeper
	keyring    map[string]cachedKeys
}

// keyCacheTTL bounds how long unwrapped keys stay in memory before the
// keeper is asked again, so a revoked KEK stops backups within minutes.
const keyCacheTTL = 5 * time.Minute

type cachedKeys struct {
	ring    *keys.Keyring
	fetched time.Time
}

func (a *Activities) log() *slog.Logger {
	if a.Log == nil {
		return slog.Default()
	}
	return a.Log
}

// Worker-wide limits. They bound the worker's memory — each download
// holds chunk buffers, each container backup a pack being filled — so a
// worker can take any number of activities without running out of it.
func (a *Activities) downloadSlots() *semaphore.Weighted {
	return a.slots(&a.downloads, a.WorkerDownloads, 16)
}

// containerSlots bounds the containers of an app backed up at once. A
// mailbox is many small containers (folders) whose requests Outlook limits
// per mailbox: more of them run at once, each filling a smaller pack
// (mailFolderFlushBytes), so several mailboxes keep their 4 request slots
// busy in the memory that 4 drives take.
func (a *Activities) containerSlots(app string) *semaphore.Weighted {
	if app == AppExchange {
		return a.slots(&a.mailFolder, a.WorkerMailFolders, 8)
	}
	return a.slots(&a.containers, a.WorkerContainers, 4)
}

// mailFolderFlushBytes is how much new mailbox content waits in a
// container's vault session before it is uploaded (drives: 32 MiB).
const mailFolderFlushBytes = 8 << 20

func (a *Activities) slots(sem **semaphore.Weighted, n, def int) *semaphore.Weighted {
	a.mu.Lock()
	defer a.mu.Unlock()
	if *sem == nil {
		if n <= 0 {
			n = def
		}
		*sem = semaphore.NewWeighted(int64(n))
	}
	return *sem
}

// openKeeper opens the KEK keeper once; failures are not cached, so a
// keeper that comes back is used again without a restart.
func (a *Activities) openKeeper(ctx context.Context) (*secrets.Keeper, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.keeper != nil {
		return a.keeper, nil
	}
	if a.KeeperURL == "" {
		return nil, fmt.Errorf("%w: no key-encryption key configured (HOLDFAST_KEEPER_URL)", keys.ErrUnavailable)
	}
	k, err := keys.OpenKeeper(ctx, a.KeeperURL)
	if err != nil {
		return nil, err
	}
	a.keeper = k
	return k, nil
}

// keys returns the tenant's unwrapped keyring, from memory when fresh.
func (a *Activities) keys(ctx context.Context, tenantID string) (*keys.Keyring, error) {
	a.mu.Lock()
	if c, ok := a.keyring[tenantID]; ok && time.Since(c.fetched) < keyCacheTTL {
		a.mu.Unlock()
		return c.ring, nil
	}
	a.mu.Unlock()

	keeper, err := a.openKeeper(ctx)
	if err != nil {
		return nil, err
	}
	stored, err := a.Catalog.TenantKeys(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", keys.ErrUnavailable, err)
	}
	var current *keys.TenantKeys
	var older []*keys.TenantKeys
	for _, k := range stored {
		tk, err := keys.Unwrap(ctx, keeper, keys.Wrapped{KeyID: k.KeyID, DataKey: k.WrappedDataKey, ChunkIDKey: k.WrappedChunkKey})
		if err != nil {
			return nil, err
		}
		if k.Current && current == nil {
			current = tk
		} else {
			older = append(older, tk)
		}
	}
	if current == nil {
		return nil, fmt.Errorf("%w: tenant %s has no current data key", keys.ErrUnavailable, tenantID)
	}
	ring := keys.NewKeyring(current, older...)
	a.mu.Lock()
	if a.keyring == nil {
		a.keyring = map[string]cachedKeys{}
	}
	a.keyring[tenantID] = cachedKeys{ring: ring, fetched: time.Now()}
	a.mu.Unlock()
	return ring, nil
}

// graph returns the Graph client of a tenant, opening its sealed
// credential with the KEK.
func (a *Activities) graph(ctx context.Context, tenantID string) (graphapi.Client, error) {
	t, err := a.Catalog.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	keeper, err := a.openKeeper(ctx)
	if err != nil {
		return nil, err
	}
	cred, err := keys.OpenSecret(ctx, keeper, t.Credential)
	if err != nil {
		return nil, err
	}
	conn := graphapi.Conn{TenantID: t.ID, ClientID: t.ClientID, GraphURL: t.GraphURL,
		AuthorityURL: t.AuthorityURL, CAFile: t.CAFile}
	switch t.AuthKind {
	case "certificate":
		conn.CertPEM = cred
	default:
		conn.Secret = string(cred)
	}
	return a.Graph.Client(ctx, conn)
}

// userApp loads a snapshot's user-app.
func (a *Activities) snapshot(ctx context.Context, id int64) (catalog.Snapshot, error) {
	snap, err := a.Catalog.Snapshot(ctx, id)
	if errors.Is(err, catalog.ErrNotFound) {
		return snap, nonRetryable(ErrTypeNotFound, err)
	}
	return snap, err
}
