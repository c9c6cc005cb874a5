import { signRequest } from '@gauntlet/http'

/** A JSON request to one of the controller's agent routes with the given headers (none: unsigned). */
export function agentCall(
  controllerUrl: string,
  method: string,
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${controllerUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })
}

/** The same request signed with `secret`, as an agent signs it. */
export function signedAgentCall(
  controllerUrl: string,
  secret: string,
  method: string,
  path: string,
  body: string,
): Promise<Response> {
  return agentCall(controllerUrl, method, path, body, signRequest(secret, method, `${controllerUrl}${path}`, body))
}
