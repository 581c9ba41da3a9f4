import AirlockCore
import NIOSSL

/// The TLS settings of the listener, read from the PEM files named in `listen.tls_*`.
/// Problems are reported as one line naming the file, before the server starts listening.
enum ListenerTLS {
    static func configuration(_ listen: GatewayConfiguration.Listen) throws(AirlockError) -> TLSConfiguration? {
        guard let certificateFile = listen.tlsCertificateFile, let keyFile = listen.tlsKeyFile else { return nil }
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificateFile) } catch {
            throw AirlockError(.invalidRequest, "listen.tls_certificate_file \(certificateFile): not a readable PEM certificate")
        }
        guard !chain.isEmpty else {
            throw AirlockError(.invalidRequest, "listen.tls_certificate_file \(certificateFile): no certificate in the file")
        }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: keyFile, format: .pem) } catch {
            throw AirlockError(.invalidRequest, "listen.tls_key_file \(keyFile): not a readable PEM private key")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        return tls
    }
}
