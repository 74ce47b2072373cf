package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// inNetns runs fn on an OS thread switched into the named network namespace (/run/netns/<name>,
// as `ip netns add` makes it): sockets and TUN devices created there belong to that namespace.
// The thread is switched back afterwards; if that fails the thread is left locked, so Go retires
// it instead of reusing a thread in the wrong namespace.
func inNetns(name string, fn func() error) error {
	target, err := os.Open("/run/netns/" + name)
	if err != nil {
		return fmt.Errorf("network namespace %q: %w", name, err)
	}
	defer target.Close()
	runtime.LockOSThread()
	home, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", syscall.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer home.Close()
	if err := setns(target.Fd()); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %q: %w", name, err)
	}
	fnErr := fn()
	if err := setns(home.Fd()); err != nil {
		return fmt.Errorf("setns back: %w", err) // thread stays locked: Go drops it when this goroutine ends
	}
	runtime.UnlockOSThread()
	return fnErr
}

// sysSetns is setns(2) on linux/amd64 and linux/arm64 (the syscall package names neither).
var sysSetns = map[string]uintptr{"amd64": 308, "arm64": 268}[runtime.GOARCH]

func setns(fd uintptr) error {
	if sysSetns == 0 {
		return fmt.Errorf("setns: unsupported architecture %s", runtime.GOARCH)
	}
	if _, _, e := syscall.RawSyscall(sysSetns, fd, syscall.CLONE_NEWNET, 0); e != 0 {
		return e
	}
	return nil
}

const (
	tunSetIff = 0x400454ca // TUNSETIFF
	iffTun    = 0x0001
	iffNoPi   = 0x1000
)

// openTun creates TUN device `dev` in namespace `ns` and returns it. The device lives as long as
// this process holds it: when the wire exits, its interfaces (and their addresses) go too.
func openTun(ns, dev string) (*os.File, error) {
	if len(dev) == 0 || len(dev) > 15 {
		return nil, fmt.Errorf("TUN name %q: 1-15 characters", dev)
	}
	var f *os.File
	err := inNetns(ns, func() error {
		fd, err := syscall.Open("/dev/net/tun", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open /dev/net/tun: %w", err)
		}
		var req [40]byte // struct ifreq: name[16], flags short
		copy(req[:16], dev)
		*(*uint16)(unsafe.Pointer(&req[16])) = iffTun | iffNoPi
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), tunSetIff, uintptr(unsafe.Pointer(&req[0]))); e != 0 {
			syscall.Close(fd)
			return fmt.Errorf("TUNSETIFF %s in %s: %w", dev, ns, e)
		}
		// Non-blocking, so the Go runtime's poller serves reads and a close wakes a blocked reader.
		if err := syscall.SetNonblock(fd, true); err != nil {
			syscall.Close(fd)
			return err
		}
		f = os.NewFile(uintptr(fd), dev)
		return nil
	})
	return f, err
}

// exitWithParent asks the kernel to SIGTERM this process when the process that started it dies
// (even by SIGKILL), so no wire outlives its orchestrator.
func exitWithParent() {
	const prSetPdeathsig = 1
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetPdeathsig, uintptr(syscall.SIGTERM), 0)
	if os.Getppid() == 1 { // the parent died before the call
		os.Exit(1)
	}
}
