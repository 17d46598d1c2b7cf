"""Resource quotas and limit ranges as pure decisions (upstream's pkg/quota/v1 and the
LimitRanger admission plugin), shared by the API server's admission and the quota controller.

- `resource_lists`: quantities by resource name, summed and compared as upstream's
  `quota` helpers (`Add`, `Mask`, `LessThanOrEqual`, ...), written as upstream writes them;
- `names`: which resource names and scopes are standard (validation reads them too);
- `limit_ranges`: the LimitRanger plugin's defaults and min/max/ratio checks;
- `evaluators`: what an object uses (pods, services, claims, any object's count) and
  which quota scopes it matches;
- `admission`: the ResourceQuota plugin's decision for one request;
- `usage`: a quota's status as the quota controller computes it.
"""
