package main

// A minimal WebSocket client over a raw TCP socket: masked frames built into one buffer per write,
// a reader goroutine per socket that parses whatever one read(2) returned and answers it with one
// write(2). That is all the load generator needs from RFC 6455, and keeping it this small is what
// keeps the generator's cost per message far below the relay's.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

var mask = func() (m [4]byte) { _, _ = rand.Read(m[:]); return }()

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// appendFrame appends one final frame with `payload`, masked (client → server) or not.
func appendFrame(dst []byte, opcode byte, payload []byte, masked bool) []byte {
	n := len(payload)
	var mbit byte
	if masked {
		mbit = 0x80
	}
	dst = append(dst, 0x80|opcode)
	switch {
	case n < 126:
		dst = append(dst, mbit|byte(n))
	case n < 65536:
		dst = append(dst, mbit|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, mbit|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	if !masked {
		return append(dst, payload...)
	}
	dst = append(dst, mask[:]...)
	p := len(dst)
	dst = append(dst, payload...)
	for i := 0; i < n; i++ {
		dst[p+i] ^= mask[i&3]
	}
	return dst
}

// textHandler gets one text frame (valid only during the call), the time its read returned, and
// the pending answer buffer to append frames to; it returns that buffer.
type textHandler func(text []byte, now float64, out []byte) []byte

type wsConn struct {
	c       net.Conn
	wmu     sync.Mutex
	open    atomic.Bool
	onText  textHandler // set before readLoop starts, or swapped from inside onText itself
	onClose func()
	masked  bool // frames we write are masked (we are the client)
}

// write sends bytes as one write(2); a failed write closes the socket.
func (w *wsConn) write(b []byte) bool {
	if !w.open.Load() {
		return false
	}
	w.wmu.Lock()
	_, err := w.c.Write(b)
	w.wmu.Unlock()
	if err != nil {
		w.close()
		return false
	}
	return true
}

func (w *wsConn) sendText(s string) bool {
	return w.write(appendFrame(nil, 1, []byte(s), w.masked))
}

func (w *wsConn) close() {
	w.open.Store(false)
	_ = w.c.Close()
}

// readLoop parses frames until the socket ends. `rest` is what arrived with the handshake.
// unmask: frames that come to us masked (our own direct server) are unmasked in place.
func (w *wsConn) readLoop(rest []byte, unmask bool) {
	defer func() {
		was := w.open.Swap(false)
		_ = w.c.Close()
		if was && w.onClose != nil {
			w.onClose()
		}
	}()
	buf := make([]byte, 0, 8192)
	buf = append(buf, rest...)
	var out []byte
	first := len(buf) > 0
	for {
		now := nowMs()
		if !first {
			if len(buf) == cap(buf) {
				nb := make([]byte, len(buf), 2*cap(buf))
				copy(nb, buf)
				buf = nb
			}
			n, err := w.c.Read(buf[len(buf):cap(buf)])
			if n <= 0 && err != nil {
				return
			}
			now = nowMs()
			buf = buf[:len(buf)+n]
		}
		first = false
		o := 0
		out = out[:0]
		for len(buf)-o >= 2 {
			op := buf[o] & 0x0f
			hasMask := buf[o+1]&0x80 != 0
			n := int(buf[o+1] & 0x7f)
			h := 2
			if n == 126 {
				if len(buf)-o < 4 {
					break
				}
				n = int(binary.BigEndian.Uint16(buf[o+2:]))
				h = 4
			} else if n == 127 {
				if len(buf)-o < 10 {
					break
				}
				n = int(binary.BigEndian.Uint64(buf[o+2:]))
				h = 10
			}
			mk := o + h
			if hasMask {
				h += 4
			}
			if len(buf)-o < h+n {
				break
			}
			s := o + h
			p := buf[s : s+n]
			if hasMask && unmask {
				for i := range p {
					p[i] ^= buf[mk+(i&3)]
				}
			}
			switch op {
			case 1:
				out = w.onText(p, now, out)
			case 9: // ping → pong
				out = appendFrame(out, 10, p, w.masked)
			case 8:
				return
			}
			o = s + n
		}
		// Keep the unparsed tail at the front of the buffer.
		m := copy(buf, buf[o:])
		buf = buf[:m]
		if len(out) > 0 && !w.write(out) {
			return
		}
	}
}

// dialWS upgrades a loopback TCP socket to a WebSocket; the reader is not started yet (start()).
func dialWS(rawURL string, headers map[string]string) (*wsConn, []byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, err
	}
	if u.Hostname() != "127.0.0.1" {
		return nil, nil, errors.New("loopback only")
	}
	c, err := net.DialTimeout("tcp", u.Host, connectTimeout)
	if err != nil {
		return nil, nil, err
	}
	_ = c.(*net.TCPConn).SetNoDelay(true)
	_ = c.SetDeadline(time.Now().Add(connectTimeout))
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", u.RequestURI(), u.Host, key)
	for h, v := range headers {
		fmt.Fprintf(&req, "%s: %s\r\n", h, v)
	}
	req.WriteString("\r\n")
	if _, err := c.Write([]byte(req.String())); err != nil {
		c.Close()
		return nil, nil, err
	}
	br := bufio.NewReaderSize(c, 4096)
	var head []byte
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		line, err := br.ReadSlice('\n')
		if err != nil {
			c.Close()
			return nil, nil, fmt.Errorf("handshake: %w", err)
		}
		head = append(head, line...)
	}
	status := string(head[:min(len(head), 12)])
	if status != "HTTP/1.1 101" {
		c.Close()
		return nil, nil, fmt.Errorf("HTTP %s", strings.TrimPrefix(status, "HTTP/1.1 "))
	}
	if !bytes.Contains(bytes.ToLower(head), []byte("sec-websocket-accept: "+strings.ToLower(acceptKey(key)))) {
		c.Close()
		return nil, nil, errors.New("bad Sec-WebSocket-Accept")
	}
	_ = c.SetDeadline(time.Time{})
	rest, _ := br.Peek(br.Buffered())
	w := &wsConn{c: c, masked: true}
	w.open.Store(true)
	return w, append([]byte(nil), rest...), nil
}
