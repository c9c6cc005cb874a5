// Times shown in a named zone and in the viewer's: a 02:00 schedule in Europe/Berlin is 01:00 in London.

/** The viewer's IANA zone, as the browser knows it. */
export const viewerZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone

const formats = new Map<string, Intl.DateTimeFormat>()

/** "Wed 2024-05-01 02:00:00 CEST": weekday, date, time and the zone's abbreviation, in `timeZone`. */
export function formatIn(iso: string, timeZone: string): string {
  let format = formats.get(timeZone)
  if (!format) {
    try {
      format = new Intl.DateTimeFormat('en-CA', {
        timeZone,
        weekday: 'short',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hourCycle: 'h23',
        timeZoneName: 'short',
      })
    } catch {
      // A zone this browser does not know: UTC, said as such by the format itself.
      return `${new Date(iso).toISOString().replace('T', ' ').slice(0, 19)} UTC`
    }
    formats.set(timeZone, format)
  }
  return format.format(new Date(iso)).replace(',', '')
}

/** "in 3 h 12 min", "2 min ago": how far a time is from now, to the second under a minute. */
export function relative(iso: string, now: number): string {
  const ms = new Date(iso).getTime() - now
  const s = Math.round(Math.abs(ms) / 1000)
  const text =
    s < 60
      ? `${s} s`
      : s < 3600
        ? `${Math.floor(s / 60)} min ${s % 60} s`
        : s < 86_400
          ? `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
          : `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`
  return ms >= 0 ? `in ${text}` : `${text} ago`
}
