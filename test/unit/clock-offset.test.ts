import { describe, expect, it } from 'vitest'
import { ClockOffset } from '../../apps/agent/src/service/clock-offset.js'

describe('ClockOffset', () => {
  it('before any sample: offset 0, uncertainty Infinity', () => {
    const clock = new ClockOffset()
    expect(clock.offsetMs).toBe(0)
    expect(clock.uncertaintyMs).toBe(Infinity)
  })

  it.each<[string, number, number, number, number, number]>([
    // name, sentAt, receivedAt, controllerTime, offset, uncertainty
    ['controller 500 ms ahead', 1000, 1040, 1520, 500, 20],
    ['controller 500 ms behind', 1000, 1040, 520, -500, 20],
    ['clocks agree', 1000, 1010, 1005, 0, 5],
    ['zero round trip', 2000, 2000, 2300, 300, 0],
    ['controller answered at the very start of the trip', 1000, 1100, 5000, 3950, 50],
    ['odd round trip: half a millisecond of uncertainty', 1000, 1001, 1000, -0.5, 0.5],
  ])('%s', (_name, sentAt, receivedAt, controllerTime, offset, uncertainty) => {
    const clock = new ClockOffset()
    clock.add(sentAt, receivedAt, controllerTime)
    expect(clock.offsetMs).toBe(offset)
    expect(clock.uncertaintyMs).toBe(uncertainty)
  })

  it('a reply received "before" it was sent counts as a zero round trip', () => {
    const clock = new ClockOffset()
    clock.add(1000, 990, 1995)
    expect(clock.uncertaintyMs).toBe(0)
    expect(clock.offsetMs).toBe(1000)
  })

  it('picks the sample with the shortest round trip, whatever order they came in', () => {
    const samples: Array<[number, number, number]> = [
      [0, 200, 1100], // rtt 200, offset 1000
      [1000, 1010, 2105], // rtt 10, offset 1100
      [2000, 2050, 3025], // rtt 50, offset 1000
      [3000, 3300, 4150], // rtt 300, offset 1000
    ]
    for (const order of [
      [0, 1, 2, 3],
      [3, 2, 1, 0],
      [2, 0, 3, 1],
    ]) {
      const clock = new ClockOffset()
      for (const i of order) clock.add(...samples[i]!)
      expect(clock.offsetMs).toBe(1100)
      expect(clock.uncertaintyMs).toBe(5)
    }
  })

  it('on a tie, keeps the earlier of the equally short samples', () => {
    const clock = new ClockOffset()
    clock.add(0, 20, 110) // rtt 20, offset 100
    clock.add(100, 120, 220) // rtt 20, offset 110
    expect(clock.offsetMs).toBe(100)
  })

  it('keeps only the last N samples: an old precise sample ages out', () => {
    const clock = new ClockOffset(3)
    clock.add(0, 2, 501) // rtt 2, offset 500
    expect(clock.offsetMs).toBe(500)
    clock.add(100, 140, 720) // rtt 40, offset 600
    clock.add(200, 230, 815) // rtt 30, offset 600
    expect(clock.offsetMs).toBe(500)
    clock.add(300, 350, 925) // rtt 50, offset 600: the first sample is dropped
    expect(clock.offsetMs).toBe(600)
    expect(clock.uncertaintyMs).toBe(15)
    clock.add(400, 500, 1450) // rtt 100
    clock.add(500, 600, 1550) // rtt 100: the rtt-30 sample is dropped
    expect(clock.uncertaintyMs).toBe(25)
    clock.add(600, 700, 1650) // rtt 100: only rtt-100 samples remain
    expect(clock.uncertaintyMs).toBe(50)
  })

  it('keeps 16 samples by default', () => {
    const clock = new ClockOffset()
    clock.add(0, 2, 101) // rtt 2, offset 100
    for (let i = 1; i <= 15; i++) clock.add(i * 1000, i * 1000 + 100, i * 1000 + 50 + 200) // rtt 100, offset 200
    expect(clock.offsetMs).toBe(100)
    clock.add(16_000, 16_100, 16_250) // the 17th sample pushes out the first
    expect(clock.offsetMs).toBe(200)
    expect(clock.uncertaintyMs).toBe(50)
  })

  it('follows a drifting controller clock once older precise samples age out', () => {
    const clock = new ClockOffset(4)
    for (let i = 0; i < 4; i++) clock.add(i * 1000, i * 1000 + 10, i * 1000 + 5 + 100) // offset 100, rtt 10
    for (let i = 4; i < 8; i++) clock.add(i * 1000, i * 1000 + 20, i * 1000 + 10 + 250) // offset 250, rtt 20
    expect(clock.offsetMs).toBe(250)
  })
})
