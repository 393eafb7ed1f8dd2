// Which connection may be which switch: the site config binds a switch's datapath id to its TLS certificate
// (`certificate:` under the switch, by subject attributes or fingerprint). A bound datapath id is refused to any
// other certificate and to plain TCP; a bound certificate may claim no other datapath id. A switch without a
// binding is taken on any certificate our CA signed, as before.
import type { DatapathClaim } from '../../controller/controller.js';
import type { SwitchCertificate } from '../../controller/switch-connection.js';
import { dpidText } from '../../controller/errors.js';
import type { CertificateBinding, Site } from './site.js';

/** Whether `cert` is the one `binding` names. */
export function certificateMatches(binding: CertificateBinding, cert: SwitchCertificate): boolean {
  if (binding.fingerprint !== undefined) {
    const have = (binding.fingerprint.length === 40 ? cert.fingerprint : cert.fingerprint256).replace(/:/g, '').toUpperCase();
    if (have !== binding.fingerprint) return false;
  }
  for (const [k, v] of Object.entries(binding.subject ?? {})) {
    if (cert.subject[k] !== v) return false; // an attribute given twice in the certificate (an array) never matches
  }
  return true;
}

/** The reason to refuse `claim` on `site`, or undefined to let it in. */
export function refuseClaim(site: Site, claim: DatapathClaim): string | undefined {
  const own = site.switches.find((s) => s.dpid === claim.dpid);
  if (own?.certificate) {
    if (!claim.certificate) return `datapath ${dpidText(claim.dpid)} (${own.name}) is bound to a TLS certificate; it cannot connect over plain TCP`;
    if (!certificateMatches(own.certificate, claim.certificate)) {
      return `datapath ${dpidText(claim.dpid)} (${own.name}) is bound to another certificate than ${describe(claim.certificate)}`;
    }
    return undefined;
  }
  if (!claim.certificate) return undefined;
  const bound = site.switches.find((s) => s.certificate && certificateMatches(s.certificate, claim.certificate!));
  if (bound)
    return `certificate ${describe(claim.certificate)} is bound to datapath ${dpidText(bound.dpid)} (${bound.name}), not ${dpidText(claim.dpid)}`;
  return undefined;
}

function describe(cert: SwitchCertificate): string {
  const cn = cert.subject.CN;
  return `${typeof cn === 'string' ? `CN=${cn} ` : ''}(SHA-256 ${cert.fingerprint256.replace(/:/g, '').slice(0, 16)}...)`;
}
