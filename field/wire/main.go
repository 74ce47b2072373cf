// havatar-wire: a network emulator for tests and benchmarks, with no kernel help (no netem here).
//
//	havatar-wire link --a NS:DEV --b NS:DEV --profile JSON [--control SOCKET]
//	    Creates TUN device DEV in each network namespace and forwards IP packets between them,
//	    applying the profile per direction (a→b, b→a): delay, jitter, random and Gilbert-Elliott
//	    loss, a rate cap with a drop-tail queue, and outages. Prints {"event":"ready"} once both
//	    TUNs exist (the caller then gives them addresses). The control socket takes one command
//	    per line and answers one JSON line: `stats`, `down <ms>`, `up`, `profile <json>`.
//	havatar-wire check --profile JSON
//	    Parses a profile and exits 0, or prints why it is refused and exits 1.
//	havatar-wire portal --netns NS --to HOST:PORT
//	    Listens on 127.0.0.1 (a free port, printed as {"event":"ready","port":N}) in this
//	    namespace and connects each client to HOST:PORT inside NS: how a test reaches a
//	    process's loopback port in a namespace without adding a route that bypasses the wire.
//
// It exits on SIGTERM/SIGINT, and when the process that started it dies; its TUNs go with it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: havatar-wire link|portal …"))
	}
	exitWithParent()
	var err error
	switch os.Args[1] {
	case "link":
		err = runLink(os.Args[2:])
	case "portal":
		err = runPortal(os.Args[2:])
	case "check":
		fs := flag.NewFlagSet("check", flag.ContinueOnError)
		profileJSON := fs.String("profile", "{}", "the profile (JSON)")
		if err = fs.Parse(os.Args[2:]); err == nil {
			_, err = ParseProfile([]byte(*profileJSON))
		}
	default:
		err = fmt.Errorf("unknown command %q (link, portal or check)", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	line, _ := json.Marshal(map[string]string{"event": "error", "error": err.Error()})
	fmt.Fprintln(os.Stderr, string(line))
	os.Exit(1)
}

func emit(v map[string]any) {
	line, _ := json.Marshal(v)
	fmt.Println(string(line))
}

func splitEnd(s string) (ns, dev string, err error) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 || i == len(s)-1 {
		return "", "", fmt.Errorf("%q: want NAMESPACE:DEVICE", s)
	}
	return s[:i], s[i+1:], nil
}

func waitForSignal() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

func runLink(args []string) error {
	fs := flag.NewFlagSet("link", flag.ContinueOnError)
	a := fs.String("a", "", "NAMESPACE:DEVICE of end a")
	b := fs.String("b", "", "NAMESPACE:DEVICE of end b")
	profileJSON := fs.String("profile", "{}", "the profile (JSON)")
	control := fs.String("control", "", "path of the control socket (none when empty)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p, err := ParseProfile([]byte(*profileJSON))
	if err != nil {
		return err
	}
	aNs, aDev, err := splitEnd(*a)
	if err != nil {
		return err
	}
	bNs, bDev, err := splitEnd(*b)
	if err != nil {
		return err
	}
	aTun, err := openTun(aNs, aDev)
	if err != nil {
		return err
	}
	bTun, err := openTun(bNs, bDev)
	if err != nil {
		return err
	}
	l := newLink(p, aTun, bTun)
	if *control != "" {
		ln, err := net.Listen("unix", *control)
		if err != nil {
			return fmt.Errorf("control socket: %w", err)
		}
		defer os.Remove(*control)
		go l.serveControl(ln)
	}
	emit(map[string]any{"event": "ready", "pid": os.Getpid()})
	waitForSignal()
	return nil
}

func runPortal(args []string) error {
	fs := flag.NewFlagSet("portal", flag.ContinueOnError)
	ns := fs.String("netns", "", "network namespace to connect in")
	to := fs.String("to", "", "HOST:PORT inside the namespace")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ns == "" || *to == "" {
		return fmt.Errorf("portal needs --netns and --to")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go bridgeConn(c, *ns, *to)
		}
	}()
	emit(map[string]any{"event": "ready", "port": ln.Addr().(*net.TCPAddr).Port, "pid": os.Getpid()})
	waitForSignal()
	return nil
}

func bridgeConn(c net.Conn, ns, to string) {
	defer c.Close()
	var up net.Conn
	// The socket is made on a thread inside the namespace and stays there after the switch back.
	if err := inNetns(ns, func() (err error) { up, err = net.Dial("tcp", to); return }); err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); closeWrite(up); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); closeWrite(c); done <- struct{}{} }()
	<-done
	<-done
}

func closeWrite(c net.Conn) {
	if t, ok := c.(*net.TCPConn); ok {
		_ = t.CloseWrite()
	}
}
