// Named, lazily loaded routes. Each view is its own chunk, so the first paint only pays for the
// shell; urlFor() builds every in-app link (no URL written by hand elsewhere).

import type { Route } from '@vaadin/router';

export const ROUTES = {
  drive: { path: '/', tag: 'hv-drive-view', title: 'Drive', load: () => import('../views/drive-view.ts') },
  settings: { path: '/settings', tag: 'hv-settings-view', title: 'Settings', load: () => import('../views/settings-view.ts') },
  status: { path: '/status', tag: 'hv-status-view', title: 'Status', load: () => import('../views/status-view.ts') },
} as const;

export type RouteName = keyof typeof ROUTES;

export function urlFor(name: RouteName): string {
  return ROUTES[name].path;
}

export function routeTable(): Route[] {
  const named: Route[] = Object.entries(ROUTES).map(([name, r]) => ({
    path: r.path,
    name,
    component: r.tag,
    action: async () => {
      await r.load();
      document.title = `${r.title} · Havatar`;
    },
  }));
  return [...named, { path: '(.*)', redirect: ROUTES.drive.path }];
}
