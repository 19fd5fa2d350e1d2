package m365_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/graphapi"
	"github.com/holdfast/holdfast/internal/graphsim"
	"github.com/holdfast/holdfast/internal/m365"
	"github.com/holdfast/holdfast/internal/quickxor"
)

func sim(t *testing.T, o graphsim.Options) *graphsim.Server {
	t.Helper()
	o.StateDir = t.TempDir()
	if o.Users == 0 {
		o.Users = 3
	}
	if o.FilesPerUser == 0 {
		o.FilesPerUser = 30
	}
	if o.Seed == 0 {
		o.Seed = 42
	}
	s, err := graphsim.Start(context.Background(), o)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func conn(s *graphsim.Server) graphapi.Conn {
	i := s.Info()
	return graphapi.Conn{TenantID: i.TenantID, ClientID: i.ClientID, Secret: i.ClientSecret, GraphURL: i.GraphURL,
		AuthorityURL: i.AuthorityURL, CAFile: i.CAFile}
}

func client(t *testing.T, c graphapi.Conn, o m365.Options) *m365.Client {
	t.Helper()
	if o.RetryBase == 0 {
		o.RetryBase = 10 * time.Millisecond
	}
	cl, err := m365.New(c, o)
	require.NoError(t, err)
	return cl
}

// walk follows a drive's delta to the end.
func walk(t *testing.T, c *m365.Client, driveID, link string) (map[string]graphapi.DriveItem, string) {
	t.Helper()
	items := map[string]graphapi.DriveItem{}
	for {
		page, err := c.DriveDelta(context.Background(), driveID, link)
		require.NoError(t, err)
		for _, it := range page.Items {
			items[it.ID] = it
		}
		if page.DeltaLink != "" {
			return items, page.DeltaLink
		}
		link = page.NextLink
	}
}

func TestSecretAndCertificateAuthAndDelta(t *testing.T) {
	s := sim(t, graphsim.Options{})
	ctx := context.Background()
	pem, err := os.ReadFile(s.Info().ClientCertFile)
	require.NoError(t, err)
	certConn := conn(s)
	certConn.Secret, certConn.CertPEM = "", pem

	for name, c := range map[string]graphapi.Conn{"secret": conn(s), "certificate": certConn} {
		t.Run(name, func(t *testing.T) {
			cl := client(t, c, m365.Options{})
			users, err := cl.Users(ctx)
			require.NoError(t, err)
			require.Len(t, users, len(s.Users()))
			roles, err := cl.Roles(ctx)
			require.NoError(t, err)
			assert.Contains(t, roles, "Files.ReadWrite.All")

			u := s.Users()[0]
			got, err := cl.User(ctx, u.UPN)
			require.NoError(t, err)
			assert.Equal(t, u.ID, got.ID)
			d, err := cl.UserDrive(ctx, u.ID)
			require.NoError(t, err)
			assert.Equal(t, u.DriveID, d.ID)

			items, _ := walk(t, cl, d.ID, "")
			manifest, err := s.Manifest(u.ID)
			require.NoError(t, err)
			files := 0
			for _, m := range manifest {
				if m.Folder {
					continue
				}
				files++
				it, ok := items[m.ID]
				require.True(t, ok, "delta has %s", m.Path)
				assert.Equal(t, m.Size, it.Size)
				assert.Equal(t, m.QuickXorHash, it.QuickXorHash)
			}
			assert.Positive(t, files)
		})
	}
}

func TestUserWithApostrophe(t *testing.T) {
	s := sim(t, graphsim.Options{Users: 12})
	var obrien graphsim.UserInfo
	for _, u := range s.Users() {
		if strings.Contains(u.UPN, "'") {
			obrien = u
		}
	}
	require.NotEmpty(t, obrien.ID, "the seeded tenant has a user with an apostrophe")
	cl := client(t, conn(s), m365.Options{})
	got, err := cl.User(context.Background(), obrien.UPN)
	require.NoError(t, err)
	assert.Equal(t, obrien.ID, got.ID)
	_, err = cl.User(context.Background(), "nobody@"+s.Info().Domain)
	assert.ErrorIs(t, err, graphapi.ErrNotFound)
}

func TestBadSecretIsAnAuthError(t *testing.T) {
	s := sim(t, graphsim.Options{})
	c := conn(s)
	c.Secret = "wrong"
	cl := client(t, c, m365.Options{})
	_, err := cl.Users(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, graphapi.ErrUnauthorized)
	assert.Contains(t, err.Error(), "AADSTS")
	assert.NotContains(t, err.Error(), "wrong", "the secret is never echoed")
}

func TestRevokedTokenIsRefreshed(t *testing.T) {
	s := sim(t, graphsim.Options{})
	cl := client(t, conn(s), m365.Options{})
	ctx := context.Background()
	_, err := cl.Users(ctx)
	require.NoError(t, err)
	before := s.Counters().ByEndpoint["token"].Served
	s.RevokeTokens()
	_, err = cl.Users(ctx)
	require.NoError(t, err, "a 401 gets a fresh token and one more try")
	assert.Greater(t, s.Counters().ByEndpoint["token"].Served, before)
}

func TestFaultsAreRetried(t *testing.T) {
	s := sim(t, graphsim.Options{Users: 1, FilesPerUser: 40})
	u := s.Users()[0]
	cl := client(t, conn(s), m365.Options{MaxAttempts: 8})
	ctx := context.Background()
	s.SetFaultRate(0.3) // 5xx (some with Retry-After), latency, connections dropped mid-body
	items, _ := walk(t, cl, u.DriveID, "")
	downloaded := 0
	for _, it := range items {
		if it.Kind != graphapi.KindFile {
			continue
		}
		var err error
		for attempt := 0; attempt < 5; attempt++ { // a dropped download is the caller's to retry
			var body io.ReadCloser
			if body, err = cl.Download(ctx, u.DriveID, it); err == nil {
				h := quickxor.New()
				_, err = io.Copy(h, body)
				body.Close()
				if err == nil {
					assert.Equal(t, it.QuickXorHash, quickxor.Base64(h))
					break
				}
			}
		}
		require.NoError(t, err)
		downloaded++
	}
	assert.Positive(t, downloaded)
	assert.Positive(t, s.Counters().Faults, "faults were injected")
}

func TestLongRetryAfterIsHandedBack(t *testing.T) {
	s := sim(t, graphsim.Options{Users: 1})
	u := s.Users()[0]
	s.SetThrottleScale(0.001)
	cl := client(t, conn(s), m365.Options{RUPerMinute: -1, MaxInlineWait: time.Millisecond})
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		_, err = cl.DriveItem(context.Background(), u.DriveID, "root")
	}
	var throttled *graphapi.ThrottledError
	require.ErrorAs(t, err, &throttled)
	assert.Positive(t, throttled.RetryAfter, "the service's Retry-After is passed on")
}

func TestExpiredDeltaLinkAsksForResync(t *testing.T) {
	s := sim(t, graphsim.Options{Users: 1})
	u := s.Users()[0]
	cl := client(t, conn(s), m365.Options{})
	_, link := walk(t, cl, u.DriveID, "")
	s.InvalidateDeltaTokens(u.DriveID)
	_, err := cl.DriveDelta(context.Background(), u.DriveID, link)
	require.Error(t, err)
	assert.ErrorIs(t, err, graphapi.ErrResyncRequired)
}

func TestIncrementalDeltaAfterMutation(t *testing.T) {
	s := sim(t, graphsim.Options{Users: 1, FilesPerUser: 50})
	u := s.Users()[0]
	cl := client(t, conn(s), m365.Options{})
	_, link := walk(t, cl, u.DriveID, "")
	res, err := s.Mutate(graphsim.MutateRequest{Seed: 3, Creates: 2, Updates: 2, Deletes: 2, Renames: 1, Moves: 1})
	require.NoError(t, err)
	changed, _ := walk(t, cl, u.DriveID, link)
	for _, ch := range res.Changes {
		it, ok := changed[ch.ItemID]
		require.True(t, ok, "%s of %s is in the incremental delta", ch.Op, ch.Path)
		assert.Equal(t, ch.Op == "delete", it.Deleted, ch.Path)
	}
}

func TestDownloadAndUploadRoundTrip(t *testing.T) {
	s := sim(t, graphsim.Options{Users: 1})
	u := s.Users()[0]
	cl := client(t, conn(s), m365.Options{})
	ctx := context.Background()
	folder, err := cl.CreateFolder(ctx, u.DriveID, "root", "Round trip", graphapi.ConflictFail)
	require.NoError(t, err)
	_, err = cl.CreateFolder(ctx, u.DriveID, "root", "Round trip", graphapi.ConflictFail)
	assert.ErrorIs(t, err, graphapi.ErrConflict)

	for _, size := range []int{0, 1000, 9<<20 + 12345} { // simple upload and an upload session
		data := make([]byte, size)
		rand.Read(data)
		name := "f" + time.Now().Format("150405.000000") + ".bin"
		it, err := cl.Upload(ctx, u.DriveID, folder.ID, name, int64(size), bytes.NewReader(data), graphapi.ConflictFail)
		require.NoError(t, err, "size %d", size)
		h := quickxor.New()
		h.Write(data)
		assert.Equal(t, quickxor.Base64(h), it.QuickXorHash)

		got, err := cl.DriveItem(ctx, u.DriveID, it.ID)
		require.NoError(t, err)
		body, err := cl.Download(ctx, u.DriveID, got)
		require.NoError(t, err)
		back, err := io.ReadAll(body)
		body.Close()
		require.NoError(t, err)
		assert.True(t, bytes.Equal(data, back), "size %d round trip", size)

		_, err = cl.Upload(ctx, u.DriveID, folder.ID, name, int64(size), bytes.NewReader(data), graphapi.ConflictFail)
		assert.True(t, errors.Is(err, graphapi.ErrConflict), "size %d: a taken name fails with conflict: %v", size, err)
		renamed, err := cl.Upload(ctx, u.DriveID, folder.ID, name, int64(size), bytes.NewReader(data), graphapi.ConflictRename)
		require.NoError(t, err)
		assert.NotEqual(t, name, renamed.Name)
	}
	byPath, err := cl.ItemByPath(ctx, u.DriveID, "/Round trip")
	require.NoError(t, err)
	assert.Equal(t, folder.ID, byPath.ID)
}
