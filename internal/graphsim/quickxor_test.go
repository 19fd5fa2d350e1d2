package graphsim

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"
)

// Vectors: the empty input and "hello world" from the quickxorhash Python package's README;
// the random inputs are published test vectors used by rclone's implementation.
func TestQuickXorHashVectors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
		{base64.StdEncoding.EncodeToString([]byte("hello world")), "aCgDG9jwBhDc4Q1yawMZAAAAAAA="},
		{"Sg==", "SgAAAAAAAAAAAAAAAQAAAAAAAAA="},
		{"2fuxhBJXtpWFe8dOfdGeHw==", "O9tHLAghgSvYohKFyMMxnNCHaHg="},
		{"T6LYJIfDh81JrAK309H2JMJTXis=", "zBTHrspn3mEcohlJdIUAbjGNaNg="},
		{"Mb7EGva2rEE5fENDL85P+BsapHEEjv2/siVhKjvAQe02feExVOQSkfmuYzU/kTF1MaKjPmKF/w+cbvwfdWL8aQ==", "n1anP5NfvD4XDYWIeRPW3ZkPv1Y="},
		{"ikwCorI7PKWz17EI50jZCGbV9JU2E8bXVfxNMg5zdmqSZ2NlsQPp0kqYIPjzwTg1MBtfWPg53k0h0P2naJNEVgrqpoHTfV2b3pJ4m0zYPTJmUX4Bg/lOxcnCxAYKU29Y5F0U8Quz7ZXFBEweftXxJ7RS4r6N7BzJrPsLhY7hgck=", "imAoFvCWlDn4yVw3/oq1PDbbm6U="},
	} {
		in, err := base64.StdEncoding.DecodeString(tc.in)
		require.NoError(t, err)
		for _, chunk := range []int{1, 3, 7, 64, 160, 1000} {
			q := newQuickXor()
			for i := 0; i < len(in); i += chunk {
				_, _ = q.Write(in[i:min(i+chunk, len(in))])
			}
			require.Equal(t, tc.want, base64.StdEncoding.EncodeToString(q.Sum(nil)), "len %d chunk %d", len(in), chunk)
		}
	}
}
