package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// Profile is what one link does to the packets crossing it, per direction, plus link-wide outages.
// field/profiles.ts writes these; the JSON names are the contract between the two.
type Profile struct {
	AToB    Direction `json:"aToB"`
	BToA    Direction `json:"bToA"`
	Outages []Outage  `json:"outages"`
	// Seed of the random draws (loss, jitter): the same seed and the same packets give the same drops.
	Seed uint64 `json:"seed"`
}

// Direction is one way of a link.
type Direction struct {
	DelayMs  float64 `json:"delayMs"`
	JitterMs float64 `json:"jitterMs"` // standard deviation of a normal delay variation
	// Reorder lets a packet with a shorter jittered delay overtake an earlier one (what netem
	// does); false keeps each direction in order, as a single radio bearer or cable does.
	Reorder bool    `json:"reorder"`
	LossPct float64 `json:"lossPct"` // independent random loss
	Burst   *Burst  `json:"burst"`   // Gilbert-Elliott bursty loss, on top of LossPct
	// RateKbps caps the throughput (0: no cap); packets wait in a drop-tail queue of QueueBytes.
	RateKbps   float64 `json:"rateKbps"`
	QueueBytes int     `json:"queueBytes"`
}

// Burst is a two-state Gilbert-Elliott channel: per packet it may move Good→Bad or Bad→Good, then
// loses the packet with its state's loss probability. Mean burst length in Bad is 1/PBadToGood.
type Burst struct {
	PGoodToBad    float64 `json:"pGoodToBad"`
	PBadToGood    float64 `json:"pBadToGood"`
	LossInGoodPct float64 `json:"lossInGoodPct"`
	LossInBadPct  float64 `json:"lossInBadPct"`
}

// Outage takes the whole link down (both directions) for ForMs, AtMs after the profile is applied.
type Outage struct {
	AtMs  float64 `json:"atMs"`
	ForMs float64 `json:"forMs"`
}

// DefaultQueueMs sizes a capped direction's queue when QueueBytes is not given: 200 ms of its rate,
// in the range of a cellular or home router buffer without being a bufferbloat extreme.
const DefaultQueueMs = 200

// ParseProfile reads a profile, refusing unknown fields and out-of-range numbers with a message
// that names the field.
func ParseProfile(data []byte) (Profile, error) {
	var p Profile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("profile: %w", err)
	}
	if dec.More() {
		return p, fmt.Errorf("profile: trailing data after the JSON object")
	}
	for name, d := range map[string]*Direction{"aToB": &p.AToB, "bToA": &p.BToA} {
		if err := d.check(); err != nil {
			return p, fmt.Errorf("profile %s: %w", name, err)
		}
	}
	for i, o := range p.Outages {
		if !finite(o.AtMs) || !finite(o.ForMs) || o.AtMs < 0 || o.ForMs <= 0 {
			return p, fmt.Errorf("profile outages[%d]: atMs must be >= 0 and forMs > 0", i)
		}
	}
	return p, nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func pct(name string, v float64) error {
	if !finite(v) || v < 0 || v > 100 {
		return fmt.Errorf("%s must be within 0..100, got %v", name, v)
	}
	return nil
}

func prob(name string, v float64) error {
	if !finite(v) || v < 0 || v > 1 {
		return fmt.Errorf("%s must be within 0..1, got %v", name, v)
	}
	return nil
}

func (d *Direction) check() error {
	if !finite(d.DelayMs) || d.DelayMs < 0 || d.DelayMs > 10_000 {
		return fmt.Errorf("delayMs must be within 0..10000, got %v", d.DelayMs)
	}
	if !finite(d.JitterMs) || d.JitterMs < 0 || d.JitterMs > 10_000 {
		return fmt.Errorf("jitterMs must be within 0..10000, got %v", d.JitterMs)
	}
	if err := pct("lossPct", d.LossPct); err != nil {
		return err
	}
	if b := d.Burst; b != nil {
		for _, e := range []error{prob("burst.pGoodToBad", b.PGoodToBad), prob("burst.pBadToGood", b.PBadToGood),
			pct("burst.lossInGoodPct", b.LossInGoodPct), pct("burst.lossInBadPct", b.LossInBadPct)} {
			if e != nil {
				return e
			}
		}
		if b.PBadToGood == 0 && b.PGoodToBad > 0 {
			return fmt.Errorf("burst.pBadToGood must be > 0 (a link that never leaves Bad is an outage: use outages)")
		}
	}
	if !finite(d.RateKbps) || d.RateKbps < 0 {
		return fmt.Errorf("rateKbps must be >= 0, got %v", d.RateKbps)
	}
	if d.QueueBytes < 0 {
		return fmt.Errorf("queueBytes must be >= 0, got %v", d.QueueBytes)
	}
	if d.RateKbps > 0 && d.QueueBytes == 0 {
		d.QueueBytes = int(d.RateKbps * 1000 / 8 * DefaultQueueMs / 1000)
	}
	if d.RateKbps > 0 && d.QueueBytes < 1600 {
		return fmt.Errorf("queueBytes must hold at least one full packet (1600), got %v", d.QueueBytes)
	}
	return nil
}
