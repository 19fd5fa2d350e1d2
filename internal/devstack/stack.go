// Package devstack runs Holdfast the way a person would on one machine —
// the Temporal dev server, graphsim, a worker, and the holdfast CLI, each
// as its own process built into ./bin — for `make demo`, `make up` and
// `make bench`.
package devstack

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/holdfast/holdfast/internal/graphsim"
	"github.com/holdfast/holdfast/internal/keys"
)

// Options place and shape a stack.
type Options struct {
	Dir          string   // state directory (catalog, vault, Temporal's database, logs)
	Bin          string   // where the binaries are (./bin)
	TemporalPort int      // frontend; the UI is on this + 1000
	SimArgs      []string // graphsim flags
	WorkerEnv    []string // extra environment for the worker
	Ephemeral    bool     // keep Temporal's state in memory (benchmarks)
	Out          io.Writer
}

// Stack is a running (or recorded) stack.
type Stack struct {
	Options `json:"-"`
	Sim     graphsim.Info  `json:"sim"`
	Env     []string       `json:"env"`  // HOLDFAST_* settings shared by the CLI and the worker
	PIDs    map[string]int `json:"pids"` // temporal, graphsim, worker
	http    *http.Client
}

const stateFile = "stack.json"

// TemporalServerArgs are the dev server settings Holdfast runs with (the
// end-to-end tests use them too): eager activity execution, which hands an
// activity to the worker that scheduled it with the workflow task's reply,
// saving a matching round trip per activity — four per user backed up.
var TemporalServerArgs = []string{"--dynamic-config-value", "system.enableActivityEagerExecution=true"}

// Start launches the Temporal dev server, graphsim and a worker, and
// waits until each is ready.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.TemporalPort == 0 {
		o.TemporalPort = 7233
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, err
	}
	s := &Stack{Options: o, PIDs: map[string]int{}}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()

	addr := fmt.Sprintf("127.0.0.1:%d", o.TemporalPort)
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		return nil, fmt.Errorf("port %d is taken: is another Temporal server (or `make up`) running? `make down` stops it", o.TemporalPort)
	}
	args := []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(o.TemporalPort),
		"--ui-port", strconv.Itoa(o.TemporalPort + 1000), "--log-level", "error"}
	args = append(args, TemporalServerArgs...)
	if !o.Ephemeral {
		args = append(args, "--db-filename", filepath.Join(o.Dir, "temporal.db"))
	}
	if _, err := s.spawn(ctx, "temporal", filepath.Join(o.Bin, "temporal"), nil, false, args...); err != nil {
		return nil, err
	}
	if err := waitTCP(ctx, addr, time.Minute); err != nil {
		return nil, fmt.Errorf("the Temporal dev server did not start (see %s): %w", s.logPath("temporal"), err)
	}

	simArgs := append([]string{"--addr", "127.0.0.1:0", "--state-dir", filepath.Join(o.Dir, "graphsim"), "--log-level", "warn"}, o.SimArgs...)
	line, err := s.spawn(ctx, "graphsim", filepath.Join(o.Bin, "graphsim"), nil, true, simArgs...)
	if err != nil {
		return nil, fmt.Errorf("graphsim did not start (see %s): %w", s.logPath("graphsim"), err)
	}
	if err := json.Unmarshal([]byte(line), &s.Sim); err != nil {
		return nil, fmt.Errorf("graphsim said %q: %w", line, err)
	}

	kek, err := s.kek()
	if err != nil {
		return nil, err
	}
	s.Env = []string{"HOLDFAST_HOME=" + filepath.Join(o.Dir, "holdfast"), "HOLDFAST_KEEPER_URL=" + kek,
		"HOLDFAST_TEMPORAL_ADDRESS=" + addr, "HOLDFAST_ACTOR=demo-admin"}
	if _, err := s.spawn(ctx, "worker", filepath.Join(o.Bin, "holdfast-worker"), append(s.Env, o.WorkerEnv...), false); err != nil {
		return nil, err
	}
	ok = true
	return s, s.save()
}

// kek returns the stack's key-encryption key, made on first use.
func (s *Stack) kek() (string, error) {
	p := filepath.Join(s.Dir, "kek")
	if b, err := os.ReadFile(p); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	k, err := keys.NewLocalKEK()
	if err != nil {
		return "", err
	}
	return k, os.WriteFile(p, []byte(k+"\n"), 0o600)
}

func (s *Stack) logPath(name string) string { return filepath.Join(s.Dir, name+".log") }

// spawn starts a process in its own process group with its output in
// Dir/name.log. With firstLine it returns the first line the process
// writes on stdout (graphsim's description of itself).
func (s *Stack) spawn(ctx context.Context, name, bin string, env []string, firstLine bool, args ...string) (string, error) {
	logf, err := os.Create(s.logPath(name))
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout io.Reader
	if firstLine {
		cmd.Stdout = nil
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return "", err
		}
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w (did `make build` run?)", name, err)
	}
	s.PIDs[name] = cmd.Process.Pid
	if !firstLine {
		return "", nil
	}
	br := bufio.NewReader(stdout)
	line, err := readLine(ctx, br, time.Minute)
	go io.Copy(logf, br)
	return line, err
}

// Load reads a stack recorded by Start in dir.
func Load(dir string) (*Stack, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, fmt.Errorf("no stack is running in %s", dir)
	}
	var s Stack
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	s.Dir = dir
	return &s, nil
}

func (s *Stack) save() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.Dir, stateFile), b, 0o600)
}

// Stop ends the worker, graphsim and the dev server, in that order.
func (s *Stack) Stop() {
	for _, name := range []string{"worker", "graphsim", "temporal"} {
		pid, ok := s.PIDs[name]
		if !ok {
			continue
		}
		syscall.Kill(-pid, syscall.SIGTERM)
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) && syscall.Kill(pid, 0) == nil {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
			time.Sleep(50 * time.Millisecond)
		}
		if syscall.Kill(pid, 0) == nil {
			syscall.Kill(-pid, syscall.SIGKILL)
		}
		delete(s.PIDs, name)
	}
	os.Remove(filepath.Join(s.Dir, stateFile))
}

// Holdfast runs the CLI with the stack's settings; it returns stdout, and
// stderr in the error when the command fails.
func (s *Stack) Holdfast(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.Bin, "holdfast"), args...)
	cmd.Env = append(os.Environ(), s.Env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("holdfast %s: %s", strings.Join(args, " "), strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// browser is an HTTP client that trusts graphsim's CA.
func (s *Stack) browser() *http.Client {
	if s.http == nil {
		pool := x509.NewCertPool()
		if pem, err := os.ReadFile(s.Sim.CAFile); err == nil {
			pool.AppendCertsFromPEM(pem)
		}
		s.http = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	return s.http
}

// SimAdmin calls graphsim's admin API.
func (s *Stack) SimAdmin(ctx context.Context, method, path string, in, out any) error {
	s.browser()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.Sim.SimURL+path, body)
	if err != nil {
		return err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("graphsim %s %s: %s: %s", method, path, resp.Status, b)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// PeakRSS is a process's peak resident set (VmHWM), in bytes.
func PeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM")
}

func waitTCP(ctx context.Context, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func readLine(ctx context.Context, r *bufio.Reader, limit time.Duration) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := r.ReadString('\n')
		ch <- result{strings.TrimSpace(line), err}
	}()
	select {
	case r := <-ch:
		return r.line, r.err
	case <-time.After(limit):
		return "", errors.New("timed out")
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// CPUSeconds is the user+system CPU time a process has used.
func CPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) start at ")".
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(fields) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100, nil // USER_HZ is 100 on Linux
}

// CPU samples the CPU time of the stack's processes and of this one.
func (s *Stack) CPU() map[string]float64 {
	out := map[string]float64{}
	for name, pid := range s.PIDs {
		if v, err := CPUSeconds(pid); err == nil {
			out[name] = v
		}
	}
	if v, err := CPUSeconds(os.Getpid()); err == nil {
		out["bench"] = v
	}
	return out
}

// CPUSince is the CPU each process used since an earlier sample.
func (s *Stack) CPUSince(before map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range s.CPU() {
		out[k] = round(v-before[k], 2)
	}
	return out
}

func round(v float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}
