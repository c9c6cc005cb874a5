import { inventoryOf } from '@gauntlet/faults'
import { describe, expect, it } from 'vitest'

/**
 * A fault-capable agent's heartbeat inventory reaches the controller and GET /api/agents: it names
 * compose services and label keys, never label values, which can hold credentials.
 */
describe('inventoryOf: label keys, never values', () => {
  it('keeps services and label keys, drops values and Docker/Gauntlet labels', () => {
    const basicAuth = 'admin:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/'
    const inventory = inventoryOf([
      {
        Labels: {
          'com.docker.compose.service': 'orders',
          'traefik.http.middlewares.auth.basicauth.users': basicAuth,
          app: 'shop',
          'gauntlet.fault': 'f-1',
        },
      },
      { Labels: { 'com.docker.compose.service': 'db', app: 'shop-db' } },
      { Labels: {} },
    ])
    expect(inventory).toEqual({
      containers: 3,
      services: ['db', 'orders'],
      labels: ['app', 'traefik.http.middlewares.auth.basicauth.users'],
    })
    expect(JSON.stringify(inventory)).not.toContain(basicAuth)
    expect(JSON.stringify(inventory)).not.toContain('shop')
  })
})
