import type { Cloud, KubernetesMode } from '../agent/model.js';
import type { BuiltinPolicy, Finding } from '../agent/policy/types.js';
import { answer, withCluster } from './common.js';

/**
 * allowed-clouds — which clouds clusters may use, and how Kubernetes clusters may expose ports.
 *
 * settings: `clouds` (default: all), `kubernetes_modes` (default: all of loadbalancer, ingress, podip),
 * `force_kubernetes_mode`: a mode every Kubernetes cluster is switched to before the check (the change
 * shows in `render` and `plan`). Rules: `cloud-not-allowed` (at the cluster's document),
 * `mode-not-allowed`.
 */
export const allowedClouds: BuiltinPolicy = {
  name: 'allowed-clouds',
  summary: 'clusters may only use the listed clouds and Kubernetes modes (optionally forcing a mode)',
  create(settings) {
    const clouds = settings.clouds as Cloud[] | undefined;
    const modes = settings.kubernetes_modes as KubernetesMode[] | undefined;
    const forced = settings.force_kubernetes_mode as KubernetesMode | undefined;
    return (request) => {
      let { cluster } = request;
      const findings: Finding[] = [];
      if (clouds && !clouds.includes(cluster.cloud)) {
        findings.push({ rule: 'cloud-not-allowed', message: `cloud ${cluster.cloud} is not allowed by admins (allowed: ${clouds.join(', ')}): move cluster ${cluster.name} to one of those`, at: cluster.at });
      }
      if (cluster.cloud === 'kubernetes') {
        if (forced && (cluster.kubernetes.ports ?? request.settings.kubernetes.ports) !== forced) {
          cluster = { ...cluster, kubernetes: { ...cluster.kubernetes, ports: forced } };
        }
        const mode = cluster.kubernetes.ports ?? request.settings.kubernetes.ports;
        if (modes && !modes.includes(mode)) {
          findings.push({ rule: 'mode-not-allowed', message: `Kubernetes mode ${mode} is not allowed by admins (allowed: ${modes.join(', ')}): set kubernetes.ports to one of those`, at: cluster.at });
        }
      }
      return answer(cluster === request.cluster ? request : withCluster(request, cluster), findings);
    };
  },
};
