import type { BuiltinPolicy, PolicyRequest } from '../agent/policy/types.js';
import { answer } from './common.js';

/** The annotations that make each cloud's load-balancer controller create an internal load balancer. */
export const INTERNAL_LB_ANNOTATIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  // EKS: the AWS Load Balancer Controller reads the scheme; the in-tree controller the older flag.
  aws: { 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal', 'service.beta.kubernetes.io/aws-load-balancer-internal': 'true' },
  gcp: { 'networking.gke.io/load-balancer-type': 'Internal' },
  azure: { 'service.beta.kubernetes.io/azure-load-balancer-internal': 'true' },
};

/**
 * internal-load-balancers — Kubernetes load balancers are created internal (reachable inside the VPC only).
 *
 * settings: `provider` (aws | gcp | azure): the cloud the Kubernetes clusters run on; `contexts`: a map
 * from kubeconfig context to provider, for fleets that mix them. A cluster in loadbalancer mode gets the
 * provider's internal-load-balancer annotations on its Service (visible in `render`). A cluster whose
 * context maps to no provider is rejected (rule `unknown-provider`), since it would get a public load
 * balancer.
 */
export const internalLoadBalancers: BuiltinPolicy = {
  name: 'internal-load-balancers',
  summary: 'Kubernetes load balancers get the internal-load-balancer annotations of their cloud',
  create(settings) {
    const fallback = settings.provider as string | undefined;
    const contexts = (settings.contexts as Record<string, string> | undefined) ?? {};
    return (request: PolicyRequest) => {
      const { cluster, settings: config } = request;
      if (cluster.cloud !== 'kubernetes' || (cluster.kubernetes.ports ?? config.kubernetes.ports) !== 'loadbalancer') return answer(request);
      const context = cluster.kubernetes.context;
      const provider = (context !== undefined ? contexts[context] : undefined) ?? fallback;
      const annotations = provider ? INTERNAL_LB_ANNOTATIONS[provider] : undefined;
      if (!annotations) {
        return answer(request, [
          { rule: 'unknown-provider', message: `cannot tell which cloud context ${context ?? '(current)'} runs on, so its load balancer would be public: add it to the policy's contexts, or set provider`, at: cluster.at },
        ]);
      }
      const metadata = config.kubernetes.custom_metadata;
      // Settings are shared by every cluster: the changed copy belongs to this request only.
      const changed = { ...config, kubernetes: { ...config.kubernetes, custom_metadata: { ...metadata, annotations: { ...metadata.annotations, ...annotations } } } };
      return answer({ ...request, settings: changed });
    };
  },
};
