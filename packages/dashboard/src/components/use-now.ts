// The current time, ticking every second: for "time left" and "in 3 min" that stay true on screen.
import { useEffect, useState } from 'preact/hooks'

export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now())
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs)
    return () => clearInterval(timer)
  }, [everyMs])
  return now
}
