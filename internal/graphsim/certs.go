package graphsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Key material made fresh at every start: a CA (MSAL insists on https, so clients trust ca.pem),
// the server certificate it signs for 127.0.0.1/::1/localhost, and the client certificate
// registered on the app for certificate (client assertion) authentication. RSA for the client
// because MSAL signs assertions with PS256.

type keyMaterial struct {
	serverCert tls.Certificate
	caFile     string
	clientFile string
	clientCert *x509.Certificate
}

func makeKeyMaterial(stateDir string, now time.Time) (*keyMaterial, error) {
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "graphsim CA", Organization: []string{"Holdfast graphsim"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(5 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)

	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "graphsim"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(2 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", "graph.localhost", "login.localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}

	clientKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	clTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "Holdfast graphsim client"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(2 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	clDER, err := x509.CreateCertificate(rand.Reader, clTmpl, clTmpl, &clientKey.PublicKey, clientKey)
	if err != nil {
		return nil, err
	}
	clCert, _ := x509.ParseCertificate(clDER)
	clKeyDER, err := x509.MarshalPKCS8PrivateKey(clientKey)
	if err != nil {
		return nil, err
	}

	km := &keyMaterial{
		caFile:     filepath.Join(stateDir, "ca.pem"),
		clientFile: filepath.Join(stateDir, "client.pem"),
		clientCert: clCert,
		serverCert: tls.Certificate{Certificate: [][]byte{srvDER, caDER}, PrivateKey: srvKey},
	}
	if err := os.WriteFile(km.caFile, pemBlock("CERTIFICATE", caDER), 0o644); err != nil {
		return nil, err
	}
	clientPEM := append(pemBlock("CERTIFICATE", clDER), pemBlock("PRIVATE KEY", clKeyDER)...)
	if err := os.WriteFile(km.clientFile, clientPEM, 0o600); err != nil {
		return nil, err
	}
	return km, nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}
