"""Lab topologies: each module's spec(rtt=, circuit_rtt=, **opts) returns a topos.common.LabSpec."""
from topos import prototype, circuit, multiproject, supercomputer, datasite, distributed

TOPOLOGIES = {'prototype': prototype.spec, 'circuit': circuit.spec, 'multiproject': multiproject.spec,
              'supercomputer': supercomputer.spec, 'datasite': datasite.spec, 'distributed': distributed.spec}
# Topologies of several switches (a site config with links:): no static flows (flows.py is one switch's).
FABRICS = ('supercomputer', 'datasite', 'distributed')


def make_spec(name, **opts):
    try:
        fn = TOPOLOGIES[name]
    except KeyError:
        raise ValueError('unknown topology %r (have: %s)' % (name, ', '.join(TOPOLOGIES))) from None
    return fn(**opts)
