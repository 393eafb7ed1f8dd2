"""Lab topologies: each module's spec(rtt=, circuit_rtt=, **opts) returns a topos.common.LabSpec."""
from topos import prototype, circuit, multiproject

TOPOLOGIES = {'prototype': prototype.spec, 'circuit': circuit.spec, 'multiproject': multiproject.spec}


def make_spec(name, **opts):
    try:
        fn = TOPOLOGIES[name]
    except KeyError:
        raise ValueError('unknown topology %r (have: %s)' % (name, ', '.join(TOPOLOGIES))) from None
    return fn(**opts)
