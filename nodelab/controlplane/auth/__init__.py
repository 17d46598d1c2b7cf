"""Who is asking and may they: authentication, authorization, service-account tokens, the lab PKI
and CertificateSigningRequests.
"""
