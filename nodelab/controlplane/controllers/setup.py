"""The set of controllers the embedded control plane runs, and starting them."""

from __future__ import annotations

import datetime as dt

from nodelab.controlplane.controllers.batch.cronjobs import CronJobController
from nodelab.controlplane.controllers.batch.jobs import JobController
from nodelab.controlplane.controllers.batch.ttlafterfinished import TTLAfterFinishedController
from nodelab.controlplane.controllers.csrsigning import CSRSigningController
from nodelab.controlplane.controllers.csrsigning_plan import ClusterCA
from nodelab.controlplane.controllers.disruption import DisruptionController
from nodelab.controlplane.controllers.endpoints import EndpointsController
from nodelab.controlplane.controllers.endpointslices import EndpointSliceController
from nodelab.controlplane.controllers.garbagecollector import GarbageCollector
from nodelab.controlplane.controllers.ipam import NodeIpamController
from nodelab.controlplane.controllers.loop import Controller, ControllerLoop
from nodelab.controlplane.controllers.namespaces import NamespaceController
from nodelab.controlplane.controllers.nodelifecycle import NodeLifecycleController
from nodelab.controlplane.controllers.nodelifecycle_plan import GRACE_PERIOD
from nodelab.controlplane.controllers.quota.resourcequota import ResourceQuotaController
from nodelab.controlplane.controllers.volume.binder import PersistentVolumeBinder
from nodelab.controlplane.controllers.volume.protection import StorageProtectionController
from nodelab.controlplane.controllers.workloads.daemonsets import DaemonSetController
from nodelab.controlplane.controllers.workloads.deployments import DeploymentController
from nodelab.controlplane.controllers.workloads.hpa import HorizontalPodAutoscalerController
from nodelab.controlplane.controllers.workloads.replicasets import (
    ReplicaSetController,
    replication_controller,
)
from nodelab.controlplane.controllers.workloads.statefulsets import StatefulSetController
from nodelab.controlplane.scheduler.loop import SchedulerController
from nodelab.kube.restclient import ApiAccess


def default_controllers(node_grace: dt.timedelta = GRACE_PERIOD,
                        signing_ca: ClusterCA | None = None) -> list[Controller]:
    signer: list[Controller] = [CSRSigningController(signing_ca)] if signing_ca else []
    return [*signer,
        SchedulerController(),
        NodeIpamController(),
        NodeLifecycleController(node_grace),
        EndpointSliceController(),
        EndpointsController(),
        PersistentVolumeBinder(),
        StorageProtectionController(),
        DeploymentController(),
        ReplicaSetController(),
        replication_controller(),
        JobController(),
        DaemonSetController(),
        StatefulSetController(),
        TTLAfterFinishedController(),
        CronJobController(),
        HorizontalPodAutoscalerController(),
        DisruptionController(),
        ResourceQuotaController(),
        GarbageCollector(),
        NamespaceController(),
    ]


def start_controllers(api: ApiAccess, node_grace: dt.timedelta = GRACE_PERIOD,
                      resync: float = 1.0, signing_ca: ClusterCA | None = None
                      ) -> ControllerLoop:
    return ControllerLoop(api, default_controllers(node_grace, signing_ca),
                          resync).start()
